import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllClients,
  connectClient,
  emitAck,
  roomWithViewers,
  startServer,
  waitFor,
  type TestServer,
} from './helpers';

describe('invalid payloads', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it.each([
    ['join_room', { roomId: '12345' }],
    ['join_room', { roomId: '1234567' }],
    ['join_room', { roomId: 'abcdef' }],
    ['join_room', { roomId: 123456 }],
    ['join_room', undefined],
    ['join_room', 'junk'],
    ['create_room', { listed: 'yes' }],
    ['create_room', { title: 'x'.repeat(81) }],
    ['create_room', { unknown: true }],
    ['reclaim_room', { roomId: '123456' }],
    ['leave_room', { extra: 1 }],
    ['signal', { to: 'x' }],
    ['signal', { to: 'x', description: { type: 'offer', sdp: 'x'.repeat(70_000) } }],
    ['chat', { text: '' }],
    ['chat', { text: 'x'.repeat(501) }],
    ['chat', null],
  ])('%s %j → INVALID_PAYLOAD', async (event, payload) => {
    const client = await connectClient(t.url);
    const result = await emitAck(client, event, payload);
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: expect.any(String) },
    });
  });

  it('answers unknown events that carry an ack with INVALID_PAYLOAD', async () => {
    const client = await connectClient(t.url);
    for (const event of ['nope', 'constructor', '__proto__', 'error', 'welcome']) {
      expect(await emitAck(client, event, { a: 1 })).toMatchObject({
        ok: false,
        error: { code: 'INVALID_PAYLOAD' },
      });
    }
  });

  it('sends protocol_error for an un-acked bad stats report, bounded', async () => {
    const { viewers } = await roomWithViewers(t.url, 1);
    const viewer = viewers[0]!;
    const errors: unknown[] = [];
    viewer.on('protocol_error', (e) => errors.push(e));
    const first = waitFor(viewer, 'protocol_error');
    for (let i = 0; i < 50; i++)
      viewer.emit('stats', { role: 'viewer', inbound: { fps: 'fast' } } as never);
    expect(await first).toMatchObject({ event: 'stats', code: 'INVALID_PAYLOAD' });
    // Still serving: a fresh request works after the junk.
    expect((await emitAck(viewer, 'chat', { text: 'still here' })).ok).toBe(true);
    expect(errors.length).toBeLessThanOrEqual(5);
  });

  it('rate limits chat with RATE_LIMITED', async () => {
    const { viewers } = await roomWithViewers(t.url, 1);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => emitAck(viewers[0]!, 'chat', { text: `m${i}` })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED')).toHaveLength(3);
  });
});
