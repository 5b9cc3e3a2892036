import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  BusError,
  decodeEnvelope,
  encodeEnvelope,
  NodeBus,
  type BusPublisher,
  type BusSubscriber,
} from '../../server/cluster/node-bus';

/** An in-process stand-in for Redis pub/sub: channel → listeners, delivered on a later tick. */
function memoryPubSub() {
  const listeners = new Map<string, (message: Buffer, channel: Buffer) => void>();
  const publisher: BusPublisher = {
    publish: async (channel, message) => {
      setImmediate(() => listeners.get(channel)?.(message, Buffer.from(channel)));
      return 1;
    },
  };
  const subscriber: BusSubscriber = {
    subscribe: async (channel, listener) => {
      listeners.set(channel, listener);
    },
    unsubscribe: async (channel) => {
      listeners.delete(channel);
    },
  };
  return { publisher, subscriber };
}

const log = pino({ level: 'silent' });

describe('node bus', () => {
  it('round-trips a header and a binary body', () => {
    const body = new Uint8Array([0, 1, 2, 250]);
    const raw = encodeEnvelope(
      { t: 'msg', from: 'a', op: 'relay', args: { room: '123456' } },
      body,
    );
    const decoded = decodeEnvelope(raw);
    expect(decoded?.envelope).toEqual({
      t: 'msg',
      from: 'a',
      op: 'relay',
      args: { room: '123456' },
    });
    expect([...decoded!.body!]).toEqual([...body]);
  });

  it('never throws on arbitrary bytes, and rejects what is not an envelope', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const decoded = decodeEnvelope(Buffer.from(bytes));
        if (decoded) expect(['req', 'res', 'msg']).toContain(decoded.envelope.t);
      }),
      { numRuns: 20_000 },
    );
    const lying = Buffer.alloc(8);
    lying.writeUInt32BE(0xffffffff, 0);
    expect(decodeEnvelope(lying)).toBeNull();
    expect(
      decodeEnvelope(encodeEnvelope({ t: 'msg', from: 'a', op: 'x', args: null }).subarray(0, 6)),
    ).toBeNull();
  });

  it('answers a request from another node and delivers one-way messages', async () => {
    const { publisher, subscriber } = memoryPubSub();
    const a = new NodeBus({ nodeId: 'a', publisher, subscriber, log });
    const b = new NodeBus({ nodeId: 'b', publisher, subscriber, log });
    const seen: unknown[] = [];
    await a.start({ onRequest: () => 'unused', onMessage: () => {} });
    await b.start({
      onRequest: (m) => ({ echo: m.args, from: m.from }),
      onMessage: (m) => seen.push([m.op, m.args, m.body && [...m.body]]),
    });
    expect(await a.request('b', 'event', { x: 1 })).toEqual({ echo: { x: 1 }, from: 'a' });
    a.send('b', 'relay', { room: '123456' }, new Uint8Array([9, 8]));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([['relay', { room: '123456' }, [9, 8]]]);
  });

  it('times out a request nobody answers, and a thrown handler is a remote error', async () => {
    const { publisher, subscriber } = memoryPubSub();
    const a = new NodeBus({ nodeId: 'a', publisher, subscriber, log, timeoutMs: 50 });
    const b = new NodeBus({ nodeId: 'b', publisher, subscriber, log });
    await a.start({ onRequest: () => null, onMessage: () => {} });
    await b.start({
      onRequest: () => {
        throw new Error('boom');
      },
      onMessage: () => {},
    });
    await expect(a.request('nobody', 'event', {})).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(a.request('b', 'event', {})).rejects.toBeInstanceOf(BusError);
    await a.close();
    await expect(a.request('b', 'event', {})).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
