import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JoinRoomResult, PeerStatsDigest } from '../../shared/index';
import { createApp, type App } from '../../server/app';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import { RAMP_UP_GRACE_MS } from '../../server/stats-aggregator';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  roomWithViewers,
  startServer,
  waitFor,
  type TestServer,
} from './helpers';
import { ChunkSource, sendChunk, waitForCount } from './relay-helpers';

async function join(url: string, roomId: string) {
  const viewer = await connectClient(url);
  const ack = expectOk(await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId }));
  return { viewer, ack };
}

describe('overflow: the mesh limit sends new viewers to the relay', () => {
  let t: TestServer;
  beforeAll(async () => {
    // The SFU off: these are the relay's overflow rules (sfu.test.ts covers the SFU first).
    t = await startServer({
      MAX_MESH_VIEWERS: '1',
      MEDIA_TIMEOUT_MS: '5000',
      MAX_SFU_VIEWERS: '0',
    });
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('serves the second viewer by relay (overflow) and tells the broadcaster', async () => {
    const { broadcaster, roomId } = await roomWithViewers(t.url, 0);
    const announced = collect(broadcaster, 'viewer_joined');
    const first = await join(t.url, roomId);
    expect(first.ack).toMatchObject({
      mode: 'webrtc',
      modeReason: null,
      relayAvailable: true,
      ladder: { mediaTimeoutMs: 5000, retryIntervalMs: 30_000 },
    });
    const second = await join(t.url, roomId);
    expect(second.ack).toMatchObject({
      mode: 'relay',
      modeReason: 'overflow',
      relayAvailable: true,
    });
    await waitForCount(announced, 2);
    expect(announced).toEqual([
      { viewerId: first.viewer.id, mode: 'webrtc', iceServers: [] },
      { viewerId: second.viewer.id, mode: 'relay' },
    ]);
    // Re-joining reports the same mode.
    expect(
      expectOk(await emitAck<JoinRoomResult>(second.viewer, 'join_room', { roomId })),
    ).toMatchObject({ mode: 'relay', modeReason: 'overflow' });
    const demand = waitFor(broadcaster, 'relay_demand');
    expectOk(await emitAck(second.viewer, 'relay_subscribe', { reason: 'overflow' }));
    expect(await demand).toMatchObject({ active: true, relayViewers: 1 });

    // The WebRTC seat frees up when the first viewer leaves.
    expectOk(await emitAck(first.viewer, 'leave_room', {}));
    const third = await join(t.url, roomId);
    expect(third.ack).toMatchObject({ mode: 'webrtc', modeReason: null });
    const fourth = await join(t.url, roomId);
    expect(fourth.ack).toMatchObject({ mode: 'relay', modeReason: 'overflow' });
  });

  it('a reclaiming broadcaster learns which viewers are on the relay', async () => {
    const { broadcaster, roomId, token } = await roomWithViewers(t.url, 0);
    const first = await join(t.url, roomId);
    const second = await join(t.url, roomId);
    expect(second.ack.mode).toBe('relay');
    broadcaster.disconnect();
    const successor = await connectClient(t.url);
    const reclaimed = expectOk(
      await emitAck<{ viewers: string[]; relayViewers: string[] }>(successor, 'reclaim_room', {
        roomId,
        broadcasterToken: token,
      }),
    );
    expect(new Set(reclaimed.viewers)).toEqual(new Set([first.viewer.id, second.viewer.id]));
    expect(reclaimed.relayViewers).toEqual([second.viewer.id]);
  });

  it('a viewer back on WebRTC (relay_unsubscribe) takes a mesh seat again', async () => {
    const { roomId } = await roomWithViewers(t.url, 0);
    const first = await join(t.url, roomId);
    expectOk(await emitAck(first.viewer, 'relay_subscribe', { reason: 'fallback' }));
    // The first viewer is on the relay now, so the mesh has room.
    const second = await join(t.url, roomId);
    expect(second.ack.mode).toBe('webrtc');
    expectOk(await emitAck(first.viewer, 'relay_unsubscribe', {}));
    const third = await join(t.url, roomId);
    expect(third.ack).toMatchObject({ mode: 'relay', modeReason: 'overflow' });
  });
});

describe('a relay-only broadcaster (create_room relayOnly, its ?path=relay)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ MAX_MESH_VIEWERS: '8', MAX_SFU_VIEWERS: '0' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('serves every viewer by relay (forced) and tells the broadcaster mode relay', async () => {
    const { broadcaster, roomId } = await roomWithViewers(t.url, 0, { relayOnly: true });
    const announced = collect(broadcaster, 'viewer_joined');
    const first = await join(t.url, roomId);
    const second = await join(t.url, roomId);
    for (const { ack } of [first, second]) {
      expect(ack).toMatchObject({ mode: 'relay', modeReason: 'forced', relayAvailable: true });
    }
    await waitForCount(announced, 2);
    expect(announced).toEqual([
      { viewerId: first.viewer.id, mode: 'relay' },
      { viewerId: second.viewer.id, mode: 'relay' },
    ]);
  });

  it('remembers relay only across reclaim_room', async () => {
    const { broadcaster, roomId, token } = await roomWithViewers(t.url, 0, { relayOnly: true });
    const before = await join(t.url, roomId);
    broadcaster.disconnect();
    const successor = await connectClient(t.url);
    const reclaimed = expectOk(
      await emitAck<{ relayViewers: string[] }>(successor, 'reclaim_room', {
        roomId,
        broadcasterToken: token,
      }),
    );
    expect(reclaimed.relayViewers).toEqual([before.viewer.id]);
    const announced = waitFor(successor, 'viewer_joined');
    const after = await join(t.url, roomId);
    expect(after.ack).toMatchObject({ mode: 'relay', modeReason: 'forced' });
    expect(await announced).toEqual({ viewerId: after.viewer.id, mode: 'relay' });
  });

  it('leaves ordinary rooms on WebRTC', async () => {
    const { roomId } = await roomWithViewers(t.url, 0, { relayOnly: false });
    expect((await join(t.url, roomId)).ack).toMatchObject({ mode: 'webrtc', modeReason: null });
  });

  it('refuses a non-boolean relayOnly', async () => {
    const broadcaster = await connectClient(t.url);
    expect(await emitAck(broadcaster, 'create_room', { relayOnly: 'yes' })).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });
  });
});

describe('relay switched off (RELAY_ENABLED=false)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ MAX_MESH_VIEWERS: '1', RELAY_ENABLED: 'false', MAX_SFU_VIEWERS: '0' });
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('keeps everyone on WebRTC and refuses relay requests and media', async () => {
    const { broadcaster, roomId } = await roomWithViewers(t.url, 1);
    const second = await join(t.url, roomId);
    expect(second.ack).toMatchObject({ mode: 'webrtc', modeReason: null, relayAvailable: false });
    expect(await emitAck(second.viewer, 'relay_subscribe', { reason: 'forced' })).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    });
    const refused = waitFor(broadcaster, 'protocol_error');
    sendChunk(broadcaster, new ChunkSource().next('video', { key: true }));
    expect(await refused).toMatchObject({ event: 'relay_chunk', code: 'UNAUTHORIZED' });
    const health = await (await fetch(`${t.url}/healthz`)).json();
    expect(health.features.relay).toEqual({ enabled: false, reason: 'RELAY_ENABLED is false' });
  });
});

describe('overflow: a saturated broadcaster uplink', () => {
  let app: App;
  let url: string;
  let clock = 1_000_000;
  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CLIENT_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-client-')),
      MAX_SFU_VIEWERS: '0',
    });
    app = createApp({ config, logger: createLogger('silent'), now: () => clock });
    const { port } = await app.listen();
    url = `http://127.0.0.1:${port}`;
  });
  afterEach(() => closeAllClients());
  afterAll(() => app.close());

  const digest = (qualityLimitation: PeerStatsDigest['qualityLimitation']) => ({
    path: 'direct' as const,
    codec: 'VP8',
    bitrateKbps: 300,
    fps: 30,
    width: 640,
    height: 360,
    rttMs: 5,
    lossPct: 0,
    candidateType: 'host',
    protocol: 'udp',
    qualityLimitation,
  });

  it("sends new viewers to the relay after 10 s of 'bandwidth' quality limitation", async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(url, 2);
    const report = async (limit: PeerStatsDigest['qualityLimitation']) =>
      expectOk(
        await emitAck(broadcaster, 'stats', {
          role: 'broadcaster',
          totalUploadKbps: 600,
          peers: viewers.map((v) => ({ ...digest(limit), viewerId: v.id })),
        }),
      );
    // Ramp-up: new peers report 'bandwidth' while their estimate grows; that's not saturation.
    await report('bandwidth');
    clock += RAMP_UP_GRACE_MS - 1000;
    await report('bandwidth');
    expect((await join(url, roomId)).ack.mode).toBe('webrtc');
    clock += 1000;
    await report('bandwidth');
    clock += 6000;
    await report('bandwidth');
    expect((await join(url, roomId)).ack.mode).toBe('webrtc'); // only 6 s settled and limited
    clock += 4500;
    await report('bandwidth');
    expect((await join(url, roomId)).ack).toMatchObject({
      mode: 'relay',
      modeReason: 'uplink_saturated',
    });
    await report('none'); // recovered
    expect((await join(url, roomId)).ack.mode).toBe('webrtc');
  });
});
