import { z } from 'zod';
import { readRelayHeader, type RelayFrameHeader } from '../../shared/index';

export interface ParsedRelayChunk {
  header: RelayFrameHeader;
  bytes: Uint8Array;
}

/**
 * A `relay_chunk` payload is raw bytes, not an object: accept a Buffer/Uint8Array/ArrayBuffer
 * and validate its envelope with readRelayHeader (version, flags, config length, size ≤
 * RELAY_MAX_FRAME_BYTES). Shaped as a zod schema so it goes through the one handler wrapper.
 */
export const RelayChunkSchema = z
  .custom<Uint8Array | ArrayBuffer>(
    (value) => value instanceof Uint8Array || value instanceof ArrayBuffer,
    { message: 'expected binary relay chunk' },
  )
  .transform((value, ctx): ParsedRelayChunk => {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
    const parsed = readRelayHeader(bytes);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: `bad relay chunk: ${parsed.error}`, input: value });
      return z.NEVER;
    }
    return { header: parsed.header, bytes };
  });
