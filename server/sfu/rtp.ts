/**
 * RTP and RTCP as bytes: header fields, the per-subscriber rewrite, keyframe detection per codec,
 * and the RTCP feedback a subscriber sends (PLI, FIR, NACK, REMB, receiver reports). Pure
 * functions over Buffers; every read is bounds-checked, so a hostile packet is simply ignored.
 */

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Where the payload starts (after CSRCs and any header extension). */
  payloadOffset: number;
  /** Bytes of padding at the end (P bit), excluded from the payload. */
  padding: number;
  /** End of the fixed header and CSRCs, before any extension. */
  csrcEnd: number;
}

/** RFC 5761: on a muxed port, second-byte values 192–223 are RTCP packet types 192–223. */
export function isRtcp(packet: Uint8Array): boolean {
  return packet.length >= 2 && packet[1]! >= 192 && packet[1]! <= 223;
}

export function parseRtpHeader(packet: Buffer): RtpHeader | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2 || isRtcp(packet)) return null;
  const csrcCount = packet[0]! & 0x0f;
  const csrcEnd = 12 + csrcCount * 4;
  let payloadOffset = csrcEnd;
  if (packet.length < csrcEnd) return null;
  if (packet[0]! & 0x10) {
    if (packet.length < csrcEnd + 4) return null;
    payloadOffset = csrcEnd + 4 + packet.readUInt16BE(csrcEnd + 2) * 4;
    if (packet.length < payloadOffset) return null;
  }
  let padding = 0;
  if (packet[0]! & 0x20) {
    padding = packet[packet.length - 1]!;
    if (padding === 0 || payloadOffset + padding > packet.length) return null;
  }
  return {
    marker: (packet[1]! & 0x80) !== 0,
    payloadType: packet[1]! & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payloadOffset,
    padding,
    csrcEnd,
  };
}

export interface RtpRewrite {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** A one-byte-header extension block to write instead of the publisher's (RFC 8285). */
  extension?: Buffer | null;
}

/** Chrome's playout-delay extension with min = max = 0: render frames as soon as decoded. */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';

/** The extension block (0xBEDE header + elements) for playout-delay 0/0 under `id`. */
export function playoutDelayExtension(id: number): Buffer {
  // One element: id, length 3 bytes (encoded as 2), 12-bit min and max in 10 ms units = 0.
  return Buffer.from([0xbe, 0xde, 0x00, 0x01, (id << 4) | 2, 0, 0, 0]);
}

/**
 * A copy of `packet` with the subscriber's payload type, sequence number, timestamp and SSRC,
 * and without the publisher's header extensions (their ids are the publisher's negotiation, not
 * the subscriber's) or CSRCs. Padding is kept.
 */
export function rewriteRtp(packet: Buffer, header: RtpHeader, to: RtpRewrite): Buffer {
  const tail = packet.subarray(header.payloadOffset);
  const ext = to.extension ?? null;
  const headerBytes = 12 + (ext?.length ?? 0);
  const out = Buffer.allocUnsafe(headerBytes + tail.length);
  out[0] = 0x80 | (packet[0]! & 0x20) | (ext ? 0x10 : 0);
  out[1] = (packet[1]! & 0x80) | (to.payloadType & 0x7f);
  out.writeUInt16BE(to.sequence & 0xffff, 2);
  out.writeUInt32BE(to.timestamp >>> 0, 4);
  out.writeUInt32BE(to.ssrc >>> 0, 8);
  ext?.copy(out, 12);
  tail.copy(out, headerBytes);
  return out;
}

export function rtpPayload(packet: Buffer, header: RtpHeader): Buffer {
  return packet.subarray(header.payloadOffset, packet.length - header.padding);
}

/**
 * True when this packet starts a frame a decoder can start from (a keyframe), per codec:
 * H.264 an SPS or the first fragment of an IDR; VP8 the first packet of a key frame; VP9 the
 * first packet of a frame that is not inter-predicted; AV1 the first packet of a new coded
 * video sequence.
 */
export function isKeyframeStart(codec: string, payload: Buffer): boolean {
  if (payload.length < 1) return false;
  switch (codec) {
    case 'H264':
      return h264KeyframeStart(payload);
    case 'VP8':
      return vp8KeyframeStart(payload);
    case 'VP9':
      // I P L F B E V Z: start of frame (B) and not inter-picture predicted (P).
      return (payload[0]! & 0x08) !== 0 && (payload[0]! & 0x40) === 0;
    case 'AV1':
      // Aggregation header Z Y W W N: N starts a new coded video sequence.
      return (payload[0]! & 0x08) !== 0 && (payload[0]! & 0x80) === 0;
    default:
      return false;
  }
}

function h264KeyframeStart(payload: Buffer): boolean {
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: 16-bit size, then the NAL unit, repeated.
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = payload.readUInt16BE(offset);
      if (size === 0 || offset + 2 + size > payload.length) return false;
      const nal = payload[offset + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      offset += 2 + size;
    }
    return false;
  }
  if (type === 28 && payload.length >= 2) {
    // FU-A: start bit and the fragmented NAL type.
    return (payload[1]! & 0x80) !== 0 && (payload[1]! & 0x1f) === 5;
  }
  return false;
}

function vp8KeyframeStart(payload: Buffer): boolean {
  const first = payload[0]!;
  // S (start of partition) with partition index 0.
  if ((first & 0x10) === 0 || (first & 0x07) !== 0) return false;
  let offset = 1;
  if (first & 0x80) {
    if (payload.length < 2) return false;
    const ext = payload[1]!;
    offset = 2;
    if (ext & 0x80) offset += payload.length > offset && payload[offset]! & 0x80 ? 2 : 1;
    if (ext & 0x40) offset += 1;
    if (ext & 0x30) offset += 1;
  }
  // VP8 payload header: P bit 0 is a key frame.
  return payload.length > offset && (payload[offset]! & 0x01) === 0;
}

// ---- RTCP ------------------------------------------------------------------------------

export type RtcpFeedback =
  | { type: 'sr'; ssrc: number; ntp: bigint; rtpTimestamp: number }
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; mediaSsrc: number }
  | { type: 'nack'; mediaSsrc: number; sequences: number[] }
  | { type: 'remb'; bitrate: number }
  | { type: 'rr'; reports: Array<{ ssrc: number; fractionLost: number; jitter: number }> };

/** NACKed sequence numbers taken from one compound packet, at most. */
export const MAX_NACK_SEQUENCES = 256;

/** Walks a compound RTCP packet; unknown or truncated parts are skipped, never thrown on. */
export function parseRtcp(packet: Buffer): RtcpFeedback[] {
  const out: RtcpFeedback[] = [];
  let offset = 0;
  let nacked = 0;
  while (offset + 4 <= packet.length) {
    if (packet[offset]! >> 6 !== 2) break;
    const count = packet[offset]! & 0x1f;
    const type = packet[offset + 1]!;
    const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > packet.length) break;
    const body = packet.subarray(offset, offset + length);
    if (type === 200 && length >= 28) {
      out.push({
        type: 'sr',
        ssrc: body.readUInt32BE(4),
        ntp: body.readBigUInt64BE(8),
        rtpTimestamp: body.readUInt32BE(16),
      });
    } else if (type === 201 && length >= 8) {
      const reports: Array<{ ssrc: number; fractionLost: number; jitter: number }> = [];
      for (let i = 0; i < count && 8 + (i + 1) * 24 <= length; i++) {
        const at = 8 + i * 24;
        reports.push({
          ssrc: body.readUInt32BE(at),
          fractionLost: body[at + 4]! / 256,
          jitter: body.readUInt32BE(at + 12),
        });
      }
      out.push({ type: 'rr', reports });
    } else if (type === 206 && length >= 12) {
      const mediaSsrc = body.readUInt32BE(8);
      if (count === 1) out.push({ type: 'pli', mediaSsrc });
      else if (count === 4 && length >= 20)
        out.push({ type: 'fir', mediaSsrc: body.readUInt32BE(12) });
      else if (count === 15 && length >= 20 && body.toString('latin1', 12, 16) === 'REMB') {
        const exp = body[17]! >> 2;
        const mantissa = ((body[17]! & 0x03) << 16) | body.readUInt16BE(18);
        out.push({ type: 'remb', bitrate: mantissa * 2 ** exp });
      }
    } else if (type === 205 && count === 1 && length >= 16) {
      const sequences: number[] = [];
      for (let at = 12; at + 4 <= length && nacked < MAX_NACK_SEQUENCES; at += 4) {
        const pid = body.readUInt16BE(at);
        const blp = body.readUInt16BE(at + 2);
        sequences.push(pid);
        nacked++;
        for (let bit = 0; bit < 16 && nacked < MAX_NACK_SEQUENCES; bit++) {
          if (blp & (1 << bit)) {
            sequences.push((pid + bit + 1) & 0xffff);
            nacked++;
          }
        }
      }
      out.push({ type: 'nack', mediaSsrc: body.readUInt32BE(8), sequences });
    }
    offset += length;
  }
  return out;
}

/** A generic NACK (RFC 4585) for `sequences` of `mediaSsrc`, from `senderSsrc`. */
export function buildNack(senderSsrc: number, mediaSsrc: number, sequences: number[]): Buffer {
  const pairs: Array<[number, number]> = [];
  for (const seq of [...new Set(sequences)].sort((a, b) => a - b)) {
    const last = pairs.at(-1);
    const delta = last ? (seq - last[0]) & 0xffff : 0;
    if (last && delta >= 1 && delta <= 16) last[1] |= 1 << (delta - 1);
    else pairs.push([seq, 0]);
  }
  const out = Buffer.alloc(12 + pairs.length * 4);
  out[0] = 0x81;
  out[1] = 205;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  out.writeUInt32BE(mediaSsrc >>> 0, 8);
  pairs.forEach(([pid, blp], i) => {
    out.writeUInt16BE(pid, 12 + i * 4);
    out.writeUInt16BE(blp, 14 + i * 4);
  });
  return out;
}

/** Sequence-number arithmetic modulo 2^16: is `a` newer than `b`? */
export function seqNewer(a: number, b: number): boolean {
  const diff = (a - b) & 0xffff;
  return diff !== 0 && diff < 0x8000;
}

/** A PLI (RFC 4585) asking `mediaSsrc` for a keyframe. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = 0x81;
  out[1] = 206;
  out.writeUInt16BE(2, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  out.writeUInt32BE(mediaSsrc >>> 0, 8);
  return out;
}

/** A REMB: the bitrate (bit/s) the server wants from the publisher, whatever its subscribers say. */
export function buildRemb(senderSsrc: number, mediaSsrc: number, bitrate: number): Buffer {
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  const out = Buffer.alloc(24);
  out[0] = 0x8f;
  out[1] = 206;
  out.writeUInt16BE(5, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  out.write('REMB', 12, 'latin1');
  out[16] = 1;
  out[17] = (exp << 2) | (mantissa >> 16);
  out.writeUInt16BE(mantissa & 0xffff, 18);
  out.writeUInt32BE(mediaSsrc >>> 0, 20);
  return out;
}

export interface ReceptionReport {
  ssrc: number;
  /** 0–255: lost / expected since the last report, × 256. */
  fractionLost: number;
  cumulativeLost: number;
  extendedHighest: number;
  jitter: number;
  /** Middle 32 bits of the last SR's NTP time, and the delay since it in 1/65536 s. */
  lastSr: number;
  delaySinceLastSr: number;
}

/** A receiver report with one block per publisher stream (feeds the publisher's loss-based rate). */
export function buildReceiverReport(senderSsrc: number, reports: ReceptionReport[]): Buffer {
  const blocks = reports.slice(0, 31);
  const out = Buffer.alloc(8 + blocks.length * 24);
  out[0] = 0x80 | blocks.length;
  out[1] = 201;
  out.writeUInt16BE(out.length / 4 - 1, 2);
  out.writeUInt32BE(senderSsrc >>> 0, 4);
  blocks.forEach((r, i) => {
    const at = 8 + i * 24;
    out.writeUInt32BE(r.ssrc >>> 0, at);
    out[at + 4] = Math.max(0, Math.min(255, Math.round(r.fractionLost)));
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost));
    out.writeIntBE(lost, at + 5, 3);
    out.writeUInt32BE(r.extendedHighest >>> 0, at + 8);
    out.writeUInt32BE(r.jitter >>> 0, at + 12);
    out.writeUInt32BE(r.lastSr >>> 0, at + 16);
    out.writeUInt32BE(r.delaySinceLastSr >>> 0, at + 20);
  });
  return out;
}

/** A sender report for one subscriber stream: the publisher's NTP↔RTP mapping, translated. */
export function buildSenderReport(
  ssrc: number,
  ntp: bigint,
  rtpTimestamp: number,
  packets: number,
  octets: number,
): Buffer {
  const out = Buffer.alloc(28);
  out[0] = 0x80;
  out[1] = 200;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(ssrc >>> 0, 4);
  out.writeBigUInt64BE(ntp, 8);
  out.writeUInt32BE(rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(packets >>> 0, 20);
  out.writeUInt32BE(octets >>> 0, 24);
  return out;
}
