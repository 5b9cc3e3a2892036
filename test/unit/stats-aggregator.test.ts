import { describe, expect, it } from 'vitest';
import type { PeerStatsDigest, RoomCode } from '../../shared/index';
import {
  RAMP_UP_GRACE_MS,
  StatsAggregator,
  UPLINK_SATURATED_MS,
} from '../../server/stats-aggregator';

const ROOM = '123456' as RoomCode;

const digest = (over: Partial<PeerStatsDigest> = {}): PeerStatsDigest => ({
  path: 'direct',
  codec: 'AV1',
  bitrateKbps: 1000,
  fps: 30,
  width: 1280,
  height: 720,
  rttMs: null,
  lossPct: 0,
  candidateType: 'host',
  protocol: 'udp',
  ...over,
});

function setup() {
  let now = 10_000;
  const agg = new StatsAggregator({ now: () => now });
  return { agg, advance: (ms: number) => (now += ms) };
}

const viewers = [
  { viewerId: 'v1', joinedAt: 1 },
  { viewerId: 'v2', joinedAt: 2 },
];

describe('StatsAggregator', () => {
  it('prefers the viewer numbers and takes RTT from the broadcaster when the viewer has none', () => {
    const { agg } = setup();
    agg.recordViewerReport(ROOM, 'v1', digest({ bitrateKbps: 900, fps: 29, rttMs: null }));
    agg.recordBroadcasterReport(
      ROOM,
      2500,
      [
        { ...digest({ bitrateKbps: 1100, rttMs: 12, qualityLimitation: 'cpu' }), viewerId: 'v1' },
        { ...digest({ path: 'turn', bitrateKbps: 700, rttMs: 40 }), viewerId: 'v2' },
      ],
      () => true,
    );
    const summary = agg.summarize({ roomId: ROOM, broadcasterOnline: true, viewers });
    expect(summary.viewerCount).toBe(2);
    expect(summary.broadcaster).toEqual({ online: true, uploadKbps: 2500 });
    expect(summary.pathCounts).toEqual({ direct: 1, turn: 1, sfu: 0, relay: 0, hls: 0, whep: 0 });
    expect(summary.viewers[0]).toMatchObject({
      viewerId: 'v1',
      joinedAt: 1,
      bitrateKbps: 900,
      fps: 29,
      rttMs: 12,
      qualityLimitation: 'cpu',
    });
    expect(summary.viewers[1]).toMatchObject({
      viewerId: 'v2',
      path: 'turn',
      bitrateKbps: 700,
      rttMs: 40,
    });
  });

  it("keeps the viewer's own RTT when it has one", () => {
    const { agg } = setup();
    agg.recordViewerReport(ROOM, 'v1', digest({ rttMs: 5 }));
    agg.recordBroadcasterReport(
      ROOM,
      1,
      [{ ...digest({ rttMs: 50 }), viewerId: 'v1' }],
      () => true,
    );
    const [v1] = agg.summarize({
      roomId: ROOM,
      broadcasterOnline: true,
      viewers: viewers.slice(0, 1),
    }).viewers;
    expect(v1?.rttMs).toBe(5);
  });

  it('drops entries older than 5 s and lists silent viewers with empty numbers', () => {
    const { agg, advance } = setup();
    agg.recordViewerReport(ROOM, 'v1', digest());
    agg.recordBroadcasterReport(ROOM, 3000, [], () => true);
    advance(5001);
    const summary = agg.summarize({ roomId: ROOM, broadcasterOnline: true, viewers });
    expect(summary.viewers.map((v) => v.bitrateKbps)).toEqual([0, 0]);
    expect(summary.pathCounts).toEqual({ direct: 0, turn: 0, sfu: 0, relay: 0, hls: 0, whep: 0 });
    expect(summary.broadcaster.uploadKbps).toBe(0);
  });

  it('ignores broadcaster digests for ids that are not viewers and forgets removed viewers', () => {
    const { agg } = setup();
    agg.recordBroadcasterReport(
      ROOM,
      1,
      [
        { ...digest(), viewerId: 'ghost' },
        { ...digest(), viewerId: 'v1' },
      ],
      (id) => id === 'v1',
    );
    agg.removeViewer(ROOM, 'v1');
    const summary = agg.summarize({
      roomId: ROOM,
      broadcasterOnline: false,
      viewers: viewers.slice(0, 1),
    });
    expect(summary.pathCounts.direct).toBe(0);
    expect(summary.broadcaster).toEqual({ online: false, uploadKbps: 0 });
  });

  it('summarizes an unknown room as empty', () => {
    const { agg } = setup();
    agg.removeRoom(ROOM);
    const summary = agg.summarize({ roomId: ROOM, broadcasterOnline: true, viewers: [] });
    expect(summary).toMatchObject({ roomId: ROOM, viewerCount: 0, viewers: [] });
  });
});

describe('StatsAggregator.isUplinkSaturated', () => {
  const peer = (viewerId: string, limit: 'none' | 'bandwidth') => ({
    viewerId,
    path: 'direct' as const,
    codec: 'VP8',
    bitrateKbps: 1,
    fps: 1,
    width: 1,
    height: 1,
    rttMs: null,
    lossPct: null,
    candidateType: null,
    protocol: null,
    qualityLimitation: limit,
  });

  it('ignores the bandwidth limit of peers still ramping up', () => {
    let now = 0;
    const stats = new StatsAggregator({ now: () => now });
    const room = '123456' as RoomCode;
    for (; now <= RAMP_UP_GRACE_MS - 1000; now += 1000) {
      stats.recordBroadcasterReport(room, 1, [peer('a', 'bandwidth')], () => true);
    }
    expect(stats.isUplinkSaturated(room)).toBe(false);
  });

  it('needs half the settled peers bandwidth-limited for UPLINK_SATURATED_MS, with fresh reports', () => {
    let now = 0;
    const stats = new StatsAggregator({ now: () => now });
    const room = '123456' as RoomCode;
    const all = () => true;
    // Let a, b and c settle past their ramp-up first.
    stats.recordBroadcasterReport(
      room,
      1,
      [peer('a', 'none'), peer('b', 'none'), peer('c', 'none')],
      all,
    );
    now = RAMP_UP_GRACE_MS;
    stats.recordBroadcasterReport(room, 1, [peer('a', 'bandwidth'), peer('b', 'none')], all);
    now += UPLINK_SATURATED_MS - 1;
    stats.recordBroadcasterReport(room, 1, [peer('a', 'bandwidth'), peer('b', 'none')], all);
    expect(stats.isUplinkSaturated(room)).toBe(false);
    now += 1;
    expect(stats.isUplinkSaturated(room)).toBe(true);
    // One of three limited is not enough, and it resets the clock.
    stats.recordBroadcasterReport(
      room,
      1,
      [peer('a', 'bandwidth'), peer('b', 'none'), peer('c', 'none')],
      all,
    );
    expect(stats.isUplinkSaturated(room)).toBe(false);
    stats.recordBroadcasterReport(room, 1, [peer('a', 'bandwidth')], all);
    now += UPLINK_SATURATED_MS - 1000;
    stats.recordBroadcasterReport(room, 1, [peer('a', 'bandwidth')], all); // keeps reports fresh
    now += 1000;
    expect(stats.isUplinkSaturated(room)).toBe(true);
    now += 60_000; // the broadcaster stopped reporting
    expect(stats.isUplinkSaturated(room)).toBe(false);
    // Made-up viewer ids don't count.
    stats.recordBroadcasterReport(room, 1, [peer('ghost', 'bandwidth')], () => false);
    now += RAMP_UP_GRACE_MS + UPLINK_SATURATED_MS;
    stats.recordBroadcasterReport(room, 1, [peer('ghost', 'bandwidth')], () => false);
    expect(stats.isUplinkSaturated(room)).toBe(false);
  });
});
