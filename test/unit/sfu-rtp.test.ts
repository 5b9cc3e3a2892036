import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InboundTrack } from '../../server/sfu/inbound-track';
import { KeyframeRequester, OutboundStream, PacketCache } from '../../server/sfu/outbound-stream';
import {
  buildNack,
  buildReceiverReport,
  buildRemb,
  buildSenderReport,
  isKeyframeStart,
  parseRtcp,
  parseRtpHeader,
  rewriteRtp,
} from '../../server/sfu/rtp';
import { rtpPacket } from '../support/webrtc-client';

const h264 = (
  seq: number,
  first: number,
  opts: { marker?: boolean; ts?: number; ssrc?: number } = {},
) =>
  rtpPacket({
    payloadType: 102,
    sequence: seq,
    timestamp: opts.ts ?? seq * 100,
    ssrc: opts.ssrc ?? 0xaaaa,
    marker: opts.marker,
    payload: Buffer.from([first, 1, 2, 3, 4]),
  });

describe('RTP headers', () => {
  it('parses, skips extensions and CSRCs, and rewrites for a subscriber', () => {
    const base = h264(7, 0x41, { marker: true, ts: 1234 });
    // Add a one-byte header extension (X bit) of one 32-bit word.
    const withExt = Buffer.concat([
      base.subarray(0, 12),
      Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]),
      base.subarray(12),
    ]);
    withExt[0]! |= 0x10;
    const header = parseRtpHeader(withExt)!;
    expect(header).toMatchObject({
      sequence: 7,
      timestamp: 1234,
      ssrc: 0xaaaa,
      marker: true,
      payloadOffset: 20,
    });
    const out = rewriteRtp(withExt, header, {
      payloadType: 96,
      sequence: 9,
      timestamp: 5,
      ssrc: 42,
    });
    const again = parseRtpHeader(out)!;
    expect(again).toMatchObject({
      payloadType: 96,
      sequence: 9,
      timestamp: 5,
      ssrc: 42,
      marker: true,
      payloadOffset: 12,
    });
    expect(out.subarray(12)).toEqual(base.subarray(12));
  });

  it('refuses truncated or non-RTP packets without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const buf = Buffer.from(bytes);
        parseRtpHeader(buf);
        parseRtcp(buf);
        isKeyframeStart('H264', buf);
        isKeyframeStart('VP8', buf);
      }),
      { numRuns: 2000 },
    );
    expect(parseRtpHeader(Buffer.from([0x80, 96]))).toBeNull();
    expect(parseRtpHeader(Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull();
  });
});

describe('keyframe detection', () => {
  it('H.264: SPS, IDR, STAP-A with SPS, and the first FU-A of an IDR', () => {
    expect(isKeyframeStart('H264', Buffer.from([0x67, 0]))).toBe(true);
    expect(isKeyframeStart('H264', Buffer.from([0x65, 0]))).toBe(true);
    expect(isKeyframeStart('H264', Buffer.from([0x41, 0]))).toBe(false);
    expect(isKeyframeStart('H264', Buffer.from([0x18, 0, 2, 0x67, 0, 0, 1, 0x68]))).toBe(true);
    expect(isKeyframeStart('H264', Buffer.from([0x18, 0, 2, 0x41, 0]))).toBe(false);
    expect(isKeyframeStart('H264', Buffer.from([0x7c, 0x85]))).toBe(true);
    expect(isKeyframeStart('H264', Buffer.from([0x7c, 0x05]))).toBe(false); // not the start
  });

  it('VP8, VP9 and AV1 payload descriptors', () => {
    expect(isKeyframeStart('VP8', Buffer.from([0x10, 0x00]))).toBe(true);
    expect(isKeyframeStart('VP8', Buffer.from([0x10, 0x01]))).toBe(false);
    // X with a 15-bit picture id, then the key frame header.
    expect(isKeyframeStart('VP8', Buffer.from([0x90, 0x80, 0x81, 0x02, 0x00]))).toBe(true);
    expect(isKeyframeStart('VP9', Buffer.from([0x88]))).toBe(true);
    expect(isKeyframeStart('VP9', Buffer.from([0xc8]))).toBe(false);
    expect(isKeyframeStart('AV1', Buffer.from([0x18]))).toBe(true);
    expect(isKeyframeStart('AV1', Buffer.from([0x10]))).toBe(false);
  });
});

describe('RTCP', () => {
  it('round-trips NACK, REMB, RR and SR, and reads PLI', () => {
    const nack = parseRtcp(buildNack(1, 0xbeef, [10, 11, 13, 40]));
    expect(nack).toEqual([{ type: 'nack', mediaSsrc: 0xbeef, sequences: [10, 11, 13, 40] }]);
    expect(parseRtcp(buildRemb(1, 2, 2_500_000))[0]).toMatchObject({ type: 'remb' });
    const remb = parseRtcp(buildRemb(1, 2, 2_500_000))[0] as { bitrate: number };
    expect(remb.bitrate).toBeGreaterThan(2_490_000);
    expect(remb.bitrate).toBeLessThanOrEqual(2_500_000);
    const rr = buildReceiverReport(1, [
      {
        ssrc: 5,
        fractionLost: 64,
        cumulativeLost: 3,
        extendedHighest: 100,
        jitter: 0,
        lastSr: 0,
        delaySinceLastSr: 0,
      },
    ]);
    expect(parseRtcp(rr)).toEqual([
      { type: 'rr', reports: [{ ssrc: 5, fractionLost: 0.25, jitter: 0 }] },
    ]);
    const sr = parseRtcp(buildSenderReport(9, 123456789n << 16n, 777, 10, 1000));
    expect(sr).toEqual([{ type: 'sr', ssrc: 9, ntp: 123456789n << 16n, rtpTimestamp: 777 }]);
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9]);
    // A compound packet: RR then PLI.
    expect(parseRtcp(Buffer.concat([rr, pli])).map((f) => f.type)).toEqual(['rr', 'pli']);
  });

  it('bounds the sequence numbers taken from one NACK', () => {
    const seqs = Array.from({ length: 1000 }, (_, i) => i * 20);
    const nack = parseRtcp(buildNack(1, 2, seqs))[0] as { sequences: number[] };
    expect(nack.sequences.length).toBeLessThanOrEqual(256);
  });
});

describe('OutboundStream (per-subscriber rewrite)', () => {
  const packet = (seq: number, first = 0x41, ts = seq * 100) => {
    const buf = h264(seq, first, { ts });
    return { buf, header: parseRtpHeader(buf)! };
  };

  it('waits for a keyframe, then continues numbering across a publisher change', () => {
    let now = 0;
    const stream = new OutboundStream({
      ssrc: 77,
      payloadType: 96,
      clockRate: 90000,
      waitForKeyframe: true,
      now: () => now,
      initialSequence: 500,
      initialTimestamp: 1000,
    });
    const p1 = packet(10);
    expect(stream.forward(p1.buf, p1.header, 1, false)).toBeNull();
    const k = packet(11, 0x67);
    const out1 = parseRtpHeader(stream.forward(k.buf, k.header, 1, true)!)!;
    expect(out1).toMatchObject({ sequence: 500, timestamp: 1000, ssrc: 77, payloadType: 96 });
    const p2 = packet(12);
    expect(parseRtpHeader(stream.forward(p2.buf, p2.header, 1, false)!)!.sequence).toBe(501);
    // A new publisher (epoch 2) with unrelated numbers: held until its keyframe, then +1.
    now = 1000;
    const q = packet(40000, 0x41, 9_000_000);
    expect(stream.forward(q.buf, q.header, 2, false)).toBeNull();
    const qk = packet(40001, 0x67, 9_000_100);
    const out2 = parseRtpHeader(stream.forward(qk.buf, qk.header, 2, true)!)!;
    expect(out2.sequence).toBe(502);
    // One second later on a 90 kHz clock.
    expect(out2.timestamp).toBe(1000 + 100 + 90000);
  });

  it('maps a NACKed sequence back to the shared cache within the current publisher', () => {
    const cache = new PacketCache(64);
    const stream = new OutboundStream({
      ssrc: 1,
      payloadType: 96,
      clockRate: 90000,
      waitForKeyframe: false,
      now: () => 0,
      initialSequence: 65534,
    });
    for (let seq = 100; seq < 110; seq++) {
      const p = packet(seq);
      cache.put(seq, p.buf);
      stream.forward(p.buf, p.header, 1, false);
    }
    // Out sequence 65534 + 3 wraps to 1: publisher sequence 103.
    expect(stream.sourceSequence(1)).toBe(103);
    const again = stream.retransmit(1, (s) => cache.get(s), parseRtpHeader);
    expect(parseRtpHeader(again!)!.sequence).toBe(1);
    expect(stream.sourceSequence(30)).toBeNull();
    expect(stream.retransmits).toBe(1);
  });
});

describe('KeyframeRequester', () => {
  it('sends at most one request per interval and never loses one', () => {
    let now = 0;
    const timers: Array<() => void> = [];
    let sent = 0;
    const requester = new KeyframeRequester({
      minIntervalMs: 1000,
      now: () => now,
      send: () => sent++,
      setTimer: (cb) => timers.push(cb),
      clearTimer: () => {},
    });
    requester.request();
    for (let i = 0; i < 50; i++) requester.request();
    expect(sent).toBe(1);
    expect(timers).toHaveLength(1);
    now = 1000;
    timers.shift()!();
    expect(sent).toBe(2);
    expect(requester.coalesced).toBe(50);
  });
});

describe('InboundTrack (the server as a receiver)', () => {
  it('reports loss and asks for each missing packet once', () => {
    const track = new InboundTrack();
    expect(track.receive(5, 100)).toEqual([]);
    expect(track.receive(5, 101)).toEqual([]);
    expect(track.receive(5, 104)).toEqual([102, 103]);
    expect(track.receive(5, 105)).toEqual([]);
    const report = track.report(0)!;
    expect(report.ssrc).toBe(5);
    expect(report.cumulativeLost).toBe(2);
    expect(report.fractionLost).toBeCloseTo((2 * 256) / 6);
    // The late one arrives: no second NACK for it.
    track.receive(5, 102);
    expect(track.receive(5, 107)).toEqual([106]);
  });
});
