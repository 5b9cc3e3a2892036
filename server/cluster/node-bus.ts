import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../logger';

/** What the bus needs from a node-redis client: PUBLISH on one, SUBSCRIBE (buffer mode) on another. */
export interface BusPublisher {
  publish(channel: string, message: Buffer): Promise<unknown>;
}
export interface BusSubscriber {
  subscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => void,
    bufferMode: true,
  ): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

export class BusError extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'BUSY' | 'REMOTE_ERROR' | 'CLOSED',
    message: string,
  ) {
    super(message);
  }
}

/** Requests awaiting an answer; beyond this a new request fails at once (BUSY). */
const MAX_PENDING = 10_000;
/** Bytes published to one node and not yet confirmed by Redis; relay sinks read it as backlog. */
const HEADER_LENGTH_BYTES = 4;
const MAX_HEADER_BYTES = 256 * 1024;

const EnvelopeSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('req'),
    id: z.string().max(64),
    from: z.string().max(64),
    op: z.string().max(64),
    args: z.unknown(),
  }),
  z.object({
    t: z.literal('res'),
    id: z.string().max(64),
    ok: z.boolean(),
    result: z.unknown(),
  }),
  z.object({
    t: z.literal('msg'),
    from: z.string().max(64),
    op: z.string().max(64),
    args: z.unknown(),
  }),
]);
type Envelope = z.infer<typeof EnvelopeSchema>;

export interface BusMessage {
  from: string;
  op: string;
  args: unknown;
  /** Binary payload (relay chunks), when one was sent. */
  body: Buffer | null;
}

export type RequestHandler = (message: BusMessage) => Promise<unknown> | unknown;
export type MessageHandler = (message: BusMessage) => void;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** [u32 header length][JSON header][body]: JSON for control, raw bytes for media. */
export function encodeEnvelope(envelope: Envelope, body?: Uint8Array | null): Buffer {
  const header = Buffer.from(JSON.stringify(envelope), 'utf8');
  const prefix = Buffer.allocUnsafe(HEADER_LENGTH_BYTES);
  prefix.writeUInt32BE(header.length, 0);
  return body && body.byteLength > 0
    ? Buffer.concat([prefix, header, body])
    : Buffer.concat([prefix, header]);
}

export function decodeEnvelope(raw: Buffer): { envelope: Envelope; body: Buffer | null } | null {
  if (raw.length < HEADER_LENGTH_BYTES) return null;
  const length = raw.readUInt32BE(0);
  if (length > MAX_HEADER_BYTES || HEADER_LENGTH_BYTES + length > raw.length) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + length).toString());
  } catch {
    return null;
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) return null;
  const rest = raw.subarray(HEADER_LENGTH_BYTES + length);
  return { envelope: parsed.data, body: rest.length > 0 ? rest : null };
}

export interface NodeBusOptions {
  nodeId: string;
  publisher: BusPublisher;
  subscriber: BusSubscriber;
  log: Logger;
  /** Channel prefix; each node listens on `<prefix><nodeId>`. */
  prefix?: string;
  /** Default request timeout (ms). */
  timeoutMs?: number;
}

/**
 * Node-to-node messages over Redis pub/sub: one channel per node, requests with a correlated
 * answer (forwarded socket events), and one-way messages (relay chunks, room ended).
 */
export class NodeBus {
  readonly nodeId: string;
  readonly #options: NodeBusOptions;
  readonly #prefix: string;
  readonly #pending = new Map<string, Pending>();
  readonly #inFlightBytes = new Map<string, number>();
  #onRequest: RequestHandler = () => {
    throw new Error('no request handler');
  };
  #onMessage: MessageHandler = () => {};
  #closed = false;

  constructor(options: NodeBusOptions) {
    this.nodeId = options.nodeId;
    this.#options = options;
    this.#prefix = options.prefix ?? 'roomcast:bus:';
  }

  async start(handlers: { onRequest: RequestHandler; onMessage: MessageHandler }): Promise<void> {
    this.#onRequest = handlers.onRequest;
    this.#onMessage = handlers.onMessage;
    await this.#options.subscriber.subscribe(
      this.#channel(this.nodeId),
      (raw) => this.#receive(raw),
      true,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new BusError('CLOSED', 'node bus closed'));
      this.#pending.delete(id);
    }
    await this.#options.subscriber.unsubscribe(this.#channel(this.nodeId)).catch(() => {});
  }

  /** Bytes handed to Redis for `node` and not yet acknowledged by it. */
  inFlightBytes(node: string): number {
    return this.#inFlightBytes.get(node) ?? 0;
  }

  request(
    node: string,
    op: string,
    args: unknown,
    body?: Uint8Array | null,
    timeoutMs = this.#options.timeoutMs ?? 3000,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new BusError('CLOSED', 'node bus closed'));
    if (this.#pending.size >= MAX_PENDING) {
      return Promise.reject(new BusError('BUSY', 'too many requests in flight'));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new BusError('TIMEOUT', `node ${node.slice(0, 8)} did not answer ${op}`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      this.#publish(node, { t: 'req', id, from: this.nodeId, op, args }, body).catch(
        (err: Error) => {
          const pending = this.#pending.get(id);
          if (!pending) return;
          clearTimeout(pending.timer);
          this.#pending.delete(id);
          reject(new BusError('BUSY', err.message));
        },
      );
    });
  }

  /** Fire and forget; a failed publish is logged at debug (Redis down: the caller can't help). */
  send(node: string, op: string, args: unknown, body?: Uint8Array | null): void {
    if (this.#closed) return;
    this.#publish(node, { t: 'msg', from: this.nodeId, op, args }, body).catch((err: Error) => {
      this.#options.log.debug({ op, err: err.message }, 'bus send failed');
    });
  }

  async #publish(node: string, envelope: Envelope, body?: Uint8Array | null): Promise<void> {
    const raw = encodeEnvelope(envelope, body);
    this.#inFlightBytes.set(node, this.inFlightBytes(node) + raw.length);
    try {
      await this.#options.publisher.publish(this.#channel(node), raw);
    } finally {
      const left = this.inFlightBytes(node) - raw.length;
      if (left > 0) this.#inFlightBytes.set(node, left);
      else this.#inFlightBytes.delete(node);
    }
  }

  #channel(node: string): string {
    return `${this.#prefix}${node}`;
  }

  #receive(raw: Buffer): void {
    const decoded = decodeEnvelope(raw);
    if (!decoded) {
      this.#options.log.warn({ bytes: raw.length }, 'malformed bus message dropped');
      return;
    }
    const { envelope, body } = decoded;
    if (envelope.t === 'res') {
      const pending = this.#pending.get(envelope.id);
      if (!pending) return;
      clearTimeout(pending.timer);
      this.#pending.delete(envelope.id);
      if (envelope.ok) pending.resolve(envelope.result);
      else pending.reject(new BusError('REMOTE_ERROR', String(envelope.result).slice(0, 200)));
      return;
    }
    const message: BusMessage = { from: envelope.from, op: envelope.op, args: envelope.args, body };
    if (envelope.t === 'msg') {
      try {
        this.#onMessage(message);
      } catch (err) {
        this.#options.log.error({ err, op: envelope.op }, 'bus message handler threw');
      }
      return;
    }
    const answer = (ok: boolean, result: unknown) => {
      this.#publish(envelope.from, { t: 'res', id: envelope.id, ok, result }).catch((err: Error) =>
        this.#options.log.debug({ err: err.message }, 'bus answer failed'),
      );
    };
    Promise.resolve()
      .then(() => this.#onRequest(message))
      .then(
        (result) => answer(true, result ?? null),
        (err: unknown) => {
          this.#options.log.error({ err, op: envelope.op }, 'bus request handler threw');
          answer(false, 'internal error');
        },
      );
  }
}
