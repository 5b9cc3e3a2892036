import { describe, expect, it } from 'vitest';
import type { RelayFrameHeader, RoomCode } from '../../shared/index';
import { Metrics } from '../../server/metrics';
import { RelayHub, type RelaySink } from '../../server/relay/relay-hub';

function chunk(seq: number, key: boolean, size: number) {
  const header: RelayFrameHeader = {
    track: 'video',
    keyframe: key,
    hasConfig: key,
    seq,
    timestampUs: seq * 33_333,
    durationUs: 33_333,
    byteLength: size,
  };
  return { header, bytes: new Uint8Array(size) };
}

const room = (code: string) => code as RoomCode;

async function value(metrics: Metrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((n, v) => n + v.value, 0) ?? NaN;
}

describe('relay metrics', () => {
  it('counts bytes sent and chunks dropped for one slow viewer’s backlog', async () => {
    const metrics = new Metrics({ rooms: () => 0, clients: () => 0 }, { defaultMetrics: false });
    const slow = { id: 'slow', backlog: 0, send() {}, backlogBytes: () => slow.backlog };
    const fast: RelaySink = { id: 'fast', send() {}, backlogBytes: () => 0 };
    const hub = new RelayHub({
      gopCacheBytes: 100_000,
      viewerBacklogBytes: 1000,
      maxRoomKbps: 80_000,
      onDelivery: (decision, bytes) => {
        if (decision === 'send') metrics.relayBytesOut.inc(bytes);
        else metrics.relayFramesDroppedBacklog.inc();
      },
    });
    hub.subscribe(slow);
    hub.subscribe(fast);
    hub.publish(chunk(0, true, 300).header, chunk(0, true, 300).bytes);
    slow.backlog = 5000;
    for (let seq = 1; seq <= 3; seq++) {
      const c = chunk(seq, false, 100);
      hub.publish(c.header, c.bytes);
    }
    expect(await value(metrics, 'roomcast_relay_frames_dropped_backlog_total')).toBe(3);
    // Both got the keyframe; only the fast viewer got the three deltas.
    expect(await value(metrics, 'roomcast_relay_bytes_out_total')).toBe(2 * 300 + 3 * 100);
  });

  it('sums viewers by path over rooms and forgets closed rooms', async () => {
    const metrics = new Metrics({ rooms: () => 2, clients: () => 5 }, { defaultMetrics: false });
    metrics.recordPathCounts(room('111111'), { direct: 2, turn: 1, relay: 0, hls: 0 });
    metrics.recordPathCounts(room('222222'), { direct: 1, turn: 0, relay: 3, hls: 4 });
    let text = await metrics.render();
    expect(text).toContain('roomcast_viewers{path="direct"} 3');
    expect(text).toContain('roomcast_viewers{path="relay"} 3');
    expect(text).toContain('roomcast_viewers{path="hls"} 4');
    expect(text).toContain('roomcast_rooms 2');
    metrics.recordPathCounts(room('222222'), null);
    text = await metrics.render();
    expect(text).toContain('roomcast_viewers{path="relay"} 0');
    expect(text).toContain('roomcast_viewers{path="direct"} 2');
  });
});
