import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinRoomResult, RelayFrame } from '../../shared/index';
import { makeRelayFrames } from '../support/media-fixture';
import { publishPaced, type PacedPublisher } from '../support/paced-publisher';
import {
  closeAllClients,
  connectClient,
  emitAck,
  expectOk,
  sleep,
  startServer,
  type TestServer,
  type TestSocket,
} from './helpers';

const VIEWERS = 200;

describe('load: 200 viewers join one room streaming over the relay', () => {
  let server: TestServer;
  let frames: RelayFrame[];
  let publisher: PacedPublisher | null = null;

  beforeAll(async () => {
    frames = await makeRelayFrames({ video: 'h264', seconds: 2, width: 320, height: 180 });
    // Every viewer on the relay (the broadcaster went relay-only), room for all of them.
    server = await startServer({ MAX_VIEWERS_PER_ROOM: '1000' });
  }, 60_000);
  afterAll(async () => {
    publisher?.stop();
    closeAllClients();
    await server.close();
  });

  it('every join succeeds and every viewer receives relay media', async () => {
    const broadcaster = await connectClient(server.url);
    broadcaster.on('relay_demand', (d) => {
      if (d.active && !publisher) {
        publisher = publishPaced(frames, (b) => broadcaster.emit('relay_chunk', b));
      }
    });
    const { roomId } = expectOk(
      await emitAck<{ roomId: string }>(broadcaster, 'create_room', { relayOnly: true }),
    );

    const viewers: TestSocket[] = [];
    const received = new Map<TestSocket, number>();
    const errors: string[] = [];
    // All joins start within 4 s, inside the 5 s the issue asks for. Generous timeouts: vitest
    // runs other files on the same two cores; speed is bench:load's job, not this test's.
    await Promise.all(
      Array.from({ length: VIEWERS }, async (_, i) => {
        await sleep((i * 4000) / VIEWERS);
        const viewer = await connectClient(server.url, 20_000);
        viewers.push(viewer);
        received.set(viewer, 0);
        viewer.on('relay_chunk', () => received.set(viewer, (received.get(viewer) ?? 0) + 1));
        const join = await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId }, 20_000);
        if (!join.ok) {
          errors.push(join.error.code);
          return;
        }
        expect(join.data.mode).toBe('relay');
        const sub = await emitAck(viewer, 'relay_subscribe', { reason: 'forced' }, 20_000);
        if (!sub.ok) errors.push(sub.error.code);
      }),
    );
    expect(errors).toEqual([]);
    await sleep(3000);
    const starved = viewers.filter((v) => (received.get(v) ?? 0) < 10);
    expect(starved.length).toBe(0);
  }, 90_000);
});
