import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_EVENT_NAMES,
  encodeRelayFrame,
  ERROR_CODES,
  RELAY_FRAME_VERSION,
  type AckResult,
} from '../../shared/index';
import {
  closeAllClients,
  connectClient,
  emitAck,
  expectOk,
  roomWithViewers,
  sleep,
  startServer,
  waitFor,
  type TestServer,
  type TestSocket,
} from './helpers';

/** mulberry32: a seeded PRNG so a failing burst can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENT_NAMES = [
  ...CLIENT_EVENT_NAMES,
  'error',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'welcome',
  'room_closed',
  '',
  'x'.repeat(300),
  'join_room ',
];

function junk(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * 14);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return Math.floor(rand() * 2e6) - 1e6;
    case 3:
      return [Infinity, -0, 1e308, 123456][Math.floor(rand() * 4)];
    case 4:
      return String(Math.floor(rand() * 1e7));
    case 5:
      return 'x'.repeat(Math.floor(rand() * 2000));
    case 6:
      return Buffer.from(
        Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
      );
    case 7:
      return { roomId: junk(rand, depth + 1) };
    case 8:
      return {
        to: junk(rand, depth + 1),
        description: junk(rand, depth + 1),
        candidate: junk(rand, depth + 1),
      };
    case 9:
      return {
        role: rand() < 0.5 ? 'viewer' : 'broadcaster',
        inbound: junk(rand, depth + 1),
        peers: [junk(rand, depth + 1)],
      };
    case 10:
      return { text: junk(rand, depth + 1), __proto__: { polluted: true } };
    case 11: {
      // Deeply nested arrays/objects.
      let value: unknown = 'core';
      for (let i = 0; i < 40; i++) value = rand() < 0.5 ? [value] : { n: value };
      return value;
    }
    case 12:
      return depth > 3
        ? {}
        : { a: junk(rand, depth + 1), b: [junk(rand, depth + 1), junk(rand, depth + 1)] };
    default:
      return undefined;
  }
}

/** Binary that looks like a relay chunk: right version byte, random flags and lengths. */
function relayJunk(rand: () => number): Uint8Array {
  if (rand() < 0.2) {
    return encodeRelayFrame({
      track: rand() < 0.5 ? 'audio' : 'video',
      keyframe: rand() < 0.5,
      seq: Math.floor(rand() * 1e6),
      timestampUs: rand() * 1e9,
      durationUs: 33_000,
      ...(rand() < 0.3 ? { config: { codec: 'vp8' } } : {}),
      data: new Uint8Array(Math.floor(rand() * 300)),
    });
  }
  const bytes = new Uint8Array(Math.floor(rand() * 120));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  if (bytes.length > 0 && rand() < 0.7) bytes[0] = RELAY_FRAME_VERSION;
  return bytes;
}

function isTypedAck(result: unknown): boolean {
  const r = result as AckResult<unknown>;
  if (!r || typeof r !== 'object') return false;
  if (r.ok === true) return 'data' in r;
  return (
    r.ok === false &&
    (ERROR_CODES as readonly string[]).includes(r.error?.code) &&
    typeof r.error.message === 'string'
  );
}

describe('fuzz', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(() => t.close());

  it('survives a burst of thousands of random events; every ack is typed', async () => {
    const rand = prng(20241121);
    // Some fuzzers sit in a room so membership-dependent paths run too.
    const { broadcaster, viewers } = await roomWithViewers(t.url, 2);
    const loners = await Promise.all([
      connectClient(t.url),
      connectClient(t.url),
      connectClient(t.url),
    ]);
    const fuzzers: TestSocket[] = [broadcaster, ...viewers, ...loners];
    const acks: unknown[] = [];
    let expectedAcks = 0;
    const pendingEvents = new Map<number, string>();
    const total = 4000;
    for (let i = 0; i < total; i++) {
      const socket = fuzzers[i % fuzzers.length]!;
      const event = EVENT_NAMES[Math.floor(rand() * EVENT_NAMES.length)]!;
      const args: unknown[] = [];
      const argCount = Math.floor(rand() * 3);
      for (let a = 0; a < argCount; a++) args.push(junk(rand));
      if (event === 'relay_chunk' && rand() < 0.6) args.splice(0, args.length, relayJunk(rand));
      const ackKind = rand();
      if (ackKind < 0.6) {
        expectedAcks++;
        pendingEvents.set(i, `${i % fuzzers.length}:${event}:${JSON.stringify(args).slice(0, 80)}`);
        args.push((result: unknown) => {
          pendingEvents.delete(i);
          acks.push(result);
        });
      } else if (ackKind < 0.7) {
        args.push('not-a-function');
      }
      (socket.emit as (...a: unknown[]) => void)(event, ...args);
      if (i % 500 === 0) await sleep(10);
    }
    // A few messages just under the 1 MB limit.
    for (let i = 0; i < 4; i++) {
      expectedAcks++;
      (loners[i % loners.length]!.emit as (...a: unknown[]) => void)(
        i % 2 ? 'chat' : 'join_room',
        i % 2 ? { text: 'z'.repeat(900_000) } : { roomId: 'z'.repeat(900_000) },
        (result: unknown) => acks.push(result),
      );
    }

    const deadline = Date.now() + 10_000;
    while (acks.length < expectedAcks && Date.now() < deadline) await sleep(50);
    expect([...pendingEvents.values()].slice(0, 20)).toEqual([]);
    expect(acks.length).toBe(expectedAcks);
    const untyped = acks.filter((a) => !isTypedAck(a));
    expect(untyped).toEqual([]);
    for (const socket of fuzzers) expect(socket.connected).toBe(true);

    // The server still serves fresh clients end to end.
    const fresh = await roomWithViewers(t.url, 1);
    const signal = waitFor(fresh.viewers[0]!, 'signal');
    fresh.broadcaster.emit('signal', { to: fresh.viewers[0]!.id!, candidate: null });
    expect(await signal).toEqual({ from: fresh.broadcaster.id, candidate: null });
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
  }, 30_000);

  it('disconnects only the sender of an oversized (>1 MB) message', async () => {
    const { broadcaster, viewers, roomId } = await roomWithViewers(t.url, 1);
    const bystander = viewers[0]!;
    const attacker = await connectClient(t.url);
    const gone = new Promise<string>((resolve) => attacker.on('disconnect', resolve));
    (attacker.emit as (...a: unknown[]) => void)('chat', { text: 'x'.repeat(1_100_000) });
    expect(await gone).toBeTruthy();
    expect(bystander.connected).toBe(true);
    expect(broadcaster.connected).toBe(true);
    expectOk(await emitAck(bystander, 'chat', { text: 'unaffected' }));
    const next = await connectClient(t.url);
    expectOk(await emitAck(next, 'join_room', { roomId }));
  });
});
