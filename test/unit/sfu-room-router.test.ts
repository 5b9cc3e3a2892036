import { describe, expect, it } from 'vitest';
import type { RoomCodec } from '../../server/sfu/codec-match';
import {
  RoomRouter,
  type PublisherPort,
  type SubscriberPort,
  type TrackKind,
} from '../../server/sfu/room-router';
import { buildNack, buildRemb, parseRtpHeader } from '../../server/sfu/rtp';
import { rtpPacket } from '../support/webrtc-client';

const H264: RoomCodec = {
  kind: 'video',
  name: 'H264',
  clockRate: 90000,
  channels: null,
  params: [],
};
const OPUS: RoomCodec = { kind: 'audio', name: 'OPUS', clockRate: 48000, channels: 2, params: [] };

function publisher(codecs = { video: H264, audio: OPUS }) {
  const port = {
    id: `pub-${Math.random()}`,
    codecs,
    keyframeRequests: 0,
    closed: false,
    requestKeyframe() {
      port.keyframeRequests++;
    },
    close() {
      port.closed = true;
    },
  };
  return port satisfies PublisherPort;
}

function subscriber(id: string, videoCodec: string | null = 'H264') {
  const port = {
    id,
    kind: 'sfu' as const,
    payloadTypes: { audio: 111, video: 96 } as Record<TrackKind, number | null>,
    ssrcs: { audio: 2000 + id.length, video: 1000 + id.length },
    videoCodec,
    ready: true,
    sent: [] as Array<{ kind: TrackKind; packet: Buffer }>,
    closedWith: null as string | null,
    send(kind: TrackKind, packet: Buffer) {
      port.sent.push({ kind, packet });
    },
    close(reason: string) {
      port.closedWith = reason;
    },
  };
  return port satisfies SubscriberPort;
}

const video = (seq: number, key = false, marker = false) =>
  rtpPacket({
    payloadType: 102,
    sequence: seq,
    timestamp: seq * 10,
    ssrc: 0xabc,
    marker,
    payload: Buffer.from([key ? 0x67 : 0x41, seq & 0xff]),
  });

function manualTimers() {
  const timers: Array<{ cb: () => void; ms: number }> = [];
  return {
    timers,
    setTimer: (cb: () => void, ms: number) => timers.push({ cb, ms }),
    clearTimer: () => {},
  };
}

describe('RoomRouter', () => {
  it('forwards to every subscriber from a keyframe on, each with its own SSRC and payload type', () => {
    const router = new RoomRouter();
    const pub = publisher();
    router.attachPublisher(pub);
    const a = subscriber('a');
    router.addSubscriber(a);
    expect(pub.keyframeRequests).toBe(1);
    router.handleMedia(pub, 'video', video(1));
    expect(a.sent).toHaveLength(0);
    router.handleMedia(pub, 'video', video(2, true));
    router.handleMedia(pub, 'video', video(3, false, true));
    const b = subscriber('bb');
    router.addSubscriber(b);
    router.handleMedia(pub, 'video', video(4, false, true));
    expect(a.sent.map((s) => parseRtpHeader(s.packet)!.ssrc)).toEqual([1001, 1001, 1001]);
    expect(parseRtpHeader(a.sent[0]!.packet)!.payloadType).toBe(96);
    // b joined mid-GOP: nothing until the next keyframe.
    expect(b.sent).toHaveLength(0);
    router.handleMedia(pub, 'video', video(5, true));
    expect(b.sent).toHaveLength(1);
  });

  it('ignores packets from anyone but the current publisher', () => {
    const router = new RoomRouter();
    const pub = publisher();
    const stranger = publisher();
    router.attachPublisher(pub);
    const a = subscriber('a');
    router.addSubscriber(a);
    router.handleMedia(stranger, 'video', video(1, true));
    expect(a.sent).toHaveLength(0);
  });

  it('answers NACKs from the shared cache and never tells the publisher', () => {
    const router = new RoomRouter();
    const pub = publisher();
    router.attachPublisher(pub);
    const a = subscriber('a');
    router.addSubscriber(a);
    for (let seq = 10; seq < 20; seq++) router.handleMedia(pub, 'video', video(seq, seq === 10));
    const lost = parseRtpHeader(a.sent[4]!.packet)!.sequence;
    const before = pub.keyframeRequests;
    router.handleFeedback('a', buildNack(1001, 1001, [lost]));
    expect(a.sent).toHaveLength(11);
    const again = a.sent[10]!.packet;
    expect(again.equals(a.sent[4]!.packet)).toBe(true);
    expect(pub.keyframeRequests).toBe(before);
    expect(router.stats()[0]).toMatchObject({ retransmits: 1 });
  });

  it('rate-limits PLIs from a lossy subscriber and keeps its REMB to itself', () => {
    let now = 0;
    const timers = manualTimers();
    const router = new RoomRouter({ now: () => now, keyframeIntervalMs: 1000, ...timers });
    const pub = publisher();
    router.attachPublisher(pub);
    router.addSubscriber(subscriber('slow'));
    router.addSubscriber(subscriber('fast'));
    const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 3, 0xe9, 0, 0, 0x03, 0xed]);
    for (let i = 0; i < 40; i++) {
      now += 20;
      router.handleFeedback('slow', pli);
    }
    router.handleFeedback('slow', buildRemb(1, 2, 50_000));
    // One at subscribe, one scheduled for the end of the interval: not forty.
    expect(pub.keyframeRequests).toBe(1);
    expect(timers.timers.length).toBe(1);
    now = 1000;
    timers.timers[0]!.cb();
    expect(pub.keyframeRequests).toBe(2);
    const slow = router.stats().find((s) => s.id === 'slow')!;
    expect(slow.keyframeRequests).toBe(40);
    expect(slow.estimatedBitrate).toBe(50_000);
  });

  it('demand: starts with a reservation, lingers after the last subscriber, ends', () => {
    const timers = manualTimers();
    const changes: Array<[boolean, number]> = [];
    const router = new RoomRouter({
      onDemandChange: (active, n) => changes.push([active, n]),
      demandLingerMs: 5000,
      ...timers,
    });
    const release = router.reserve();
    expect(changes).toEqual([[true, 1]]);
    const a = subscriber('a');
    router.attachPublisher(publisher());
    router.addSubscriber(a);
    release();
    router.removeSubscriber('a');
    expect(changes).toEqual([[true, 1]]);
    expect(timers.timers).toHaveLength(1);
    timers.timers[0]!.cb();
    expect(changes).toEqual([
      [true, 1],
      [false, 0],
    ]);
  });

  it('a publisher with another codec drops the subscribers negotiated for the old one', async () => {
    const dropped: string[] = [];
    const router = new RoomRouter({ onSubscriberDropped: (id) => dropped.push(id) });
    const first = publisher();
    router.attachPublisher(first);
    const a = subscriber('a', 'H264');
    router.addSubscriber(a);
    const wait = router.waitForPublisher(1000);
    expect((await wait)?.codecs.video?.name).toBe('H264');
    router.attachPublisher(publisher({ video: { ...H264, name: 'VP8' }, audio: OPUS }));
    expect(first.closed).toBe(true);
    expect(a.closedWith).toMatch(/codec/);
    expect(dropped).toEqual(['a']);
  });

  it('closing the room closes everyone and resolves waiters with null', async () => {
    const router = new RoomRouter();
    const wait = router.waitForPublisher(10_000);
    const a = subscriber('a');
    router.addSubscriber(a);
    router.close();
    expect(await wait).toBeNull();
    expect(a.closedWith).toMatch(/ended/);
  });
});
