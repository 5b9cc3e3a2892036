/**
 * The binary envelope of one encoded chunk on the WebSocket relay. The server reads only the
 * fixed header (track, keyframe, sizes) and forwards the bytes untouched, so one encode at the
 * broadcaster serves every relay viewer.
 *
 * Layout (little-endian):
 *   0  u8   version (RELAY_FRAME_VERSION)
 *   1  u8   flags: bit0 audio track (else video), bit1 keyframe, bit2 carries a decoder config
 *   2  u16  config length in bytes (0 unless bit2)
 *   4  u32  sequence number per track (wraps)
 *   8  f64  timestamp in µs (the encoder's chunk.timestamp)
 *  16  u32  duration in µs (0 when unknown)
 *  20  ...  config: UTF-8 JSON of RelayDecoderConfig (keyframes and the first audio chunk)
 *  ..  ...  the encoded chunk
 */
export const RELAY_FRAME_VERSION = 1;
export const RELAY_HEADER_BYTES = 20;
/** A 1080p keyframe at high quality stays well under this; bigger chunks are refused. */
export const RELAY_MAX_FRAME_BYTES = 512 * 1024;
export const RELAY_MAX_CONFIG_BYTES = 4096;

export type RelayTrack = 'video' | 'audio';

/** What a VideoDecoder/AudioDecoder needs; `description` is base64 (avcC etc.) when present. */
export interface RelayDecoderConfig {
  codec: string;
  codedWidth?: number;
  codedHeight?: number;
  sampleRate?: number;
  numberOfChannels?: number;
  description?: string;
}

export interface RelayFrame {
  track: RelayTrack;
  keyframe: boolean;
  seq: number;
  timestampUs: number;
  durationUs: number;
  config?: RelayDecoderConfig;
  data: Uint8Array;
}

/** Only the header, for the server's routing decisions. */
export interface RelayFrameHeader {
  track: RelayTrack;
  keyframe: boolean;
  hasConfig: boolean;
  seq: number;
  timestampUs: number;
  durationUs: number;
  byteLength: number;
}

const FLAG_AUDIO = 1;
const FLAG_KEY = 2;
const FLAG_CONFIG = 4;

export type RelayFrameError = 'TOO_SHORT' | 'TOO_LARGE' | 'BAD_VERSION' | 'BAD_CONFIG';

export function encodeRelayFrame(frame: RelayFrame): Uint8Array {
  const config = frame.config ? new TextEncoder().encode(JSON.stringify(frame.config)) : null;
  if (config && config.byteLength > RELAY_MAX_CONFIG_BYTES) throw new RangeError('config too big');
  const configLength = config?.byteLength ?? 0;
  const out = new Uint8Array(RELAY_HEADER_BYTES + configLength + frame.data.byteLength);
  const view = new DataView(out.buffer);
  const flags =
    (frame.track === 'audio' ? FLAG_AUDIO : 0) |
    (frame.keyframe ? FLAG_KEY : 0) |
    (config ? FLAG_CONFIG : 0);
  view.setUint8(0, RELAY_FRAME_VERSION);
  view.setUint8(1, flags);
  view.setUint16(2, configLength, true);
  view.setUint32(4, frame.seq >>> 0, true);
  view.setFloat64(8, frame.timestampUs, true);
  view.setUint32(16, Math.max(0, Math.min(0xffffffff, Math.round(frame.durationUs))), true);
  if (config) out.set(config, RELAY_HEADER_BYTES);
  out.set(frame.data, RELAY_HEADER_BYTES + configLength);
  return out;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function readRelayHeader(
  bytes: Uint8Array,
): { ok: true; header: RelayFrameHeader } | { ok: false; error: RelayFrameError } {
  if (bytes.byteLength < RELAY_HEADER_BYTES) return { ok: false, error: 'TOO_SHORT' };
  if (bytes.byteLength > RELAY_MAX_FRAME_BYTES) return { ok: false, error: 'TOO_LARGE' };
  const view = viewOf(bytes);
  if (view.getUint8(0) !== RELAY_FRAME_VERSION) return { ok: false, error: 'BAD_VERSION' };
  const flags = view.getUint8(1);
  const configLength = view.getUint16(2, true);
  const hasConfig = (flags & FLAG_CONFIG) !== 0;
  if (hasConfig !== configLength > 0 || configLength > RELAY_MAX_CONFIG_BYTES) {
    return { ok: false, error: 'BAD_CONFIG' };
  }
  if (RELAY_HEADER_BYTES + configLength > bytes.byteLength)
    return { ok: false, error: 'TOO_SHORT' };
  const timestampUs = view.getFloat64(8, true);
  if (!Number.isFinite(timestampUs)) return { ok: false, error: 'BAD_CONFIG' };
  return {
    ok: true,
    header: {
      track: flags & FLAG_AUDIO ? 'audio' : 'video',
      keyframe: (flags & FLAG_KEY) !== 0,
      hasConfig,
      seq: view.getUint32(4, true),
      timestampUs,
      durationUs: view.getUint32(16, true),
      byteLength: bytes.byteLength,
    },
  };
}

export function decodeRelayFrame(
  bytes: Uint8Array,
): { ok: true; frame: RelayFrame } | { ok: false; error: RelayFrameError } {
  const parsed = readRelayHeader(bytes);
  if (!parsed.ok) return parsed;
  const { header } = parsed;
  const configLength = viewOf(bytes).getUint16(2, true);
  let config: RelayDecoderConfig | undefined;
  if (header.hasConfig) {
    try {
      const json: unknown = JSON.parse(
        new TextDecoder().decode(
          bytes.subarray(RELAY_HEADER_BYTES, RELAY_HEADER_BYTES + configLength),
        ),
      );
      if (
        typeof json !== 'object' ||
        json === null ||
        typeof (json as { codec?: unknown }).codec !== 'string'
      ) {
        return { ok: false, error: 'BAD_CONFIG' };
      }
      config = json as RelayDecoderConfig;
    } catch {
      return { ok: false, error: 'BAD_CONFIG' };
    }
  }
  return {
    ok: true,
    frame: {
      track: header.track,
      keyframe: header.keyframe,
      seq: header.seq,
      timestampUs: header.timestampUs,
      durationUs: header.durationUs,
      ...(config ? { config } : {}),
      data: bytes.subarray(RELAY_HEADER_BYTES + configLength),
    },
  };
}
