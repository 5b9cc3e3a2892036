import { describe, expect, it } from 'vitest';
import type { RelayFrameHeader } from '../../shared/index';
import { RelayHub, type RelaySink } from '../../server/relay/relay-hub';

class FakeSink implements RelaySink {
  received: Uint8Array[] = [];
  backlog = 0;
  constructor(readonly id: string) {}
  send(bytes: Uint8Array) {
    this.received.push(bytes);
  }
  backlogBytes() {
    return this.backlog;
  }
}

let seq = 0;
function chunk(track: 'video' | 'audio', key = false, size = 100) {
  const header: RelayFrameHeader = {
    track,
    keyframe: key,
    hasConfig: key,
    seq: seq++,
    timestampUs: seq,
    durationUs: 0,
    byteLength: size,
  };
  return { header, bytes: new Uint8Array(size).fill(seq % 256) };
}

function setup(overrides: Partial<ConstructorParameters<typeof RelayHub>[0]> = {}) {
  let now = 0;
  const demand: Array<[boolean, number]> = [];
  let keyframeRequests = 0;
  const hub = new RelayHub({
    gopCacheBytes: 100_000,
    viewerBacklogBytes: 1000,
    maxRoomKbps: 8000, // 1 MB/s
    now: () => now,
    onDemandChange: (active, n) => demand.push([active, n]),
    onKeyframeNeeded: () => keyframeRequests++,
    ...overrides,
  });
  const publish = (c: ReturnType<typeof chunk>) => hub.publish(c.header, c.bytes);
  return {
    hub,
    demand,
    publish,
    keyframeRequests: () => keyframeRequests,
    advance: (ms: number) => (now += ms),
  };
}

describe('RelayHub', () => {
  it('reports demand on 0 → 1 and 1 → 0 subscribers only', () => {
    const { hub, demand } = setup();
    hub.subscribe(new FakeSink('a'));
    hub.subscribe(new FakeSink('b'));
    hub.subscribe(new FakeSink('b'));
    expect(hub.subscriberCount).toBe(2);
    expect(hub.unsubscribe('a')).toBe(true);
    expect(hub.unsubscribe('a')).toBe(false);
    hub.unsubscribe('b');
    expect(demand).toEqual([
      [true, 1],
      [false, 0],
    ]);
  });

  it('serves a late subscriber from the GOP cache, then live', () => {
    const { hub, publish } = setup();
    const early = new FakeSink('early');
    hub.subscribe(early);
    const key = chunk('video', true);
    const delta = chunk('video');
    publish(key);
    publish(delta);
    const late = new FakeSink('late');
    hub.subscribe(late);
    expect(late.received).toEqual([key.bytes, delta.bytes]);
    const next = chunk('video');
    publish(next);
    expect(late.received.at(-1)).toBe(next.bytes);
    expect(early.received).toEqual([key.bytes, delta.bytes, next.bytes]);
  });

  it('asks for a keyframe when a viewer subscribes to an empty cache, at most once a second', () => {
    const { hub, keyframeRequests, advance } = setup();
    hub.subscribe(new FakeSink('a'));
    expect(keyframeRequests()).toBe(1);
    expect(hub.requestKeyframe()).toBe(false);
    advance(999);
    expect(hub.requestKeyframe()).toBe(false);
    advance(1);
    expect(hub.requestKeyframe()).toBe(true);
    expect(keyframeRequests()).toBe(2);
  });

  it('a backlogged viewer drops video to the next keyframe while others get everything', () => {
    const { hub, publish } = setup();
    const fast = new FakeSink('fast');
    const slow = new FakeSink('slow');
    hub.subscribe(fast);
    hub.subscribe(slow);
    const sent = [chunk('video', true), chunk('video'), chunk('audio')];
    for (const c of sent) publish(c);
    slow.backlog = 1500; // over the video bound, under the audio one
    const during = [chunk('video'), chunk('audio'), chunk('video')];
    for (const c of during) publish(c);
    slow.backlog = 0;
    const delta = chunk('video');
    const key = chunk('video', true);
    const after = chunk('video');
    for (const c of [delta, key, after]) publish(c);
    expect(fast.received).toHaveLength(9);
    // Slow: the audio during the stall, no video until the keyframe.
    expect(slow.received).toEqual([
      ...sent.map((c) => c.bytes),
      during[1]!.bytes,
      key.bytes,
      after.bytes,
    ]);
    expect(hub.viewerStats('slow')).toEqual({ sent: 6, dropped: 3, awaitingKeyframe: false });
  });

  it('refuses chunks past the room byte rate and skips deltas until the next keyframe', () => {
    const { hub, publish, advance, keyframeRequests } = setup({ maxRoomKbps: 800 }); // 100 kB/s
    const sink = new FakeSink('v');
    publish(chunk('video', true, 1000));
    hub.subscribe(sink);
    // The burst allowance is one max-size frame (512 KiB); exhaust it.
    let refused = 0;
    for (let i = 0; i < 20 && refused === 0; i++) {
      if (!publish(chunk('video', false, 100_000)).ok) refused++;
    }
    expect(refused).toBe(1);
    expect(keyframeRequests()).toBe(1);
    advance(2000); // tokens back
    const before = sink.received.length;
    expect(publish(chunk('video', false, 100)).ok).toBe(true);
    expect(sink.received.length).toBe(before); // a delta after a gap is not forwarded
    const key = chunk('video', true, 100);
    expect(publish(key).ok).toBe(true);
    expect(sink.received.at(-1)).toBe(key.bytes);
  });

  it('resetSource voids the cache and every viewer position', () => {
    const { hub, publish } = setup();
    const sink = new FakeSink('v');
    hub.subscribe(sink);
    publish(chunk('video', true));
    hub.resetSource();
    publish(chunk('video'));
    expect(sink.received).toHaveLength(1);
    const late = new FakeSink('late');
    hub.subscribe(late);
    expect(late.received).toEqual([]);
  });
});
