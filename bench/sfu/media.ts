/**
 * bench:sfu's synthetic media and messages: the same frame sizes as bench:relay (frames.ts), cut
 * into RTP packets whose payload carries the frame number, packet index and count, the window
 * and the send time, so viewers can count whole frames and time them (pure).
 */
import { frameSizes, type FrameSpec } from '../relay/frames';

/** RTP payload bytes per packet (a browser sends ~1200). */
export const PACKET_PAYLOAD = 1100;
const STAMP = 16;

export interface Stamp {
  frame: number;
  index: number;
  packets: number;
  window: number;
  sentAt: number;
}

/** The payloads of one video frame: H.264-like (an SPS byte on keyframes, type 1 otherwise). */
export function framePayloads(
  bytes: number,
  keyframe: boolean,
  frame: number,
  window: number,
  sentAt: number,
): Buffer[] {
  const packets = Math.max(1, Math.ceil(bytes / PACKET_PAYLOAD));
  return Array.from({ length: packets }, (_, index) => {
    const payload = Buffer.alloc(
      Math.max(STAMP, Math.min(PACKET_PAYLOAD, bytes - index * PACKET_PAYLOAD)),
    );
    payload[0] = keyframe && index === 0 ? 0x67 : 0x41;
    payload.writeUInt32BE(frame >>> 0, 1);
    payload.writeUInt16BE(index, 5);
    payload.writeUInt16BE(packets, 7);
    payload[9] = window;
    payload.writeUIntBE(Math.round(sentAt), 10, 6);
    return payload;
  });
}

/** Reads the stamp from an RTP packet (12-byte header, or more with an extension). */
export function readPayload(packet: Buffer): Stamp | null {
  if (packet.length < 12) return null;
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  if (packet.length < offset + STAMP) return null;
  return {
    frame: packet.readUInt32BE(offset + 1),
    index: packet.readUInt16BE(offset + 5),
    packets: packet.readUInt16BE(offset + 7),
    window: packet[offset + 9]!,
    sentAt: packet.readUIntBE(offset + 10, 6),
  };
}

/** Video frame sizes for the spec (bench:relay's, so both paths carry the same bytes). */
export function videoFrameBytes(spec: FrameSpec): { key: number; delta: number; perGop: number } {
  const sizes = frameSizes(spec);
  return { key: sizes.keyframeBytes, delta: sizes.deltaBytes, perGop: sizes.framesPerGop };
}

export interface ViewerTally {
  viewers: number;
  /** Whole video frames received in the window, summed over viewers. */
  frames: number;
  perViewer: number[];
  /** Send → first packet of each frame, ms. */
  latencies: number[];
  bytes: number;
}

export type SfuParentToWorker =
  | { type: 'init'; url: string; roomId: string; count: number }
  | { type: 'collect'; window: number }
  | { type: 'close' };

export type SfuWorkerToParent =
  | { type: 'started' }
  | { type: 'ready'; failed: number; errors: string[] }
  | { type: 'collected'; tally: ViewerTally }
  | { type: 'fatal'; message: string };
