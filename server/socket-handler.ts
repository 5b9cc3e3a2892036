import type { z } from 'zod';
import {
  ackError,
  CLIENT_EVENT_NAMES,
  ERROR_MESSAGES,
  type AckResult,
  type ClientToServerEvents,
  type ErrorCode,
} from '../shared/index';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { RateLimitKind, TokenBucket } from './rate-limit';
import type { AppSocket } from './socket-types';

export type ClientEventName = keyof ClientToServerEvents;

/** Per-connection state the wrapper needs. */
export interface HandlerContext {
  socket: AppSocket;
  log: Logger;
  limits: Record<RateLimitKind, TokenBucket>;
  /** Absent in tests that build a context by hand. */
  metrics?: Metrics;
}

export interface HandlerSpec<S extends z.ZodType, R> {
  schema: S;
  rateLimit: RateLimitKind;
  handle: (payload: z.output<S>, ctx: HandlerContext) => AckResult<R> | Promise<AckResult<R>>;
}

const MAX_DETAIL_CHARS = 200;

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return ERROR_MESSAGES.INVALID_PAYLOAD;
  const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return `${ERROR_MESSAGES.INVALID_PAYLOAD} ${where}${issue.message}`.slice(0, MAX_DETAIL_CHARS);
}

/** Splits Socket.IO listener arguments into (payload, ack); the ack is only ever the last one. */
function splitArgs(args: unknown[]): {
  payload: unknown;
  extra: number;
  ack?: (r: unknown) => void;
} {
  const last = args.at(-1);
  const ack = typeof last === 'function' ? (last as (r: unknown) => void) : undefined;
  const values = ack ? args.slice(0, -1) : args;
  return { payload: values[0], extra: Math.max(0, values.length - 1), ack };
}

/** Tells a client why an un-acked message was refused, at most a few times per second. */
export function sendProtocolError(
  ctx: HandlerContext,
  event: string,
  code: ErrorCode,
  message: string = ERROR_MESSAGES[code],
): void {
  if (!ctx.limits.protocolError.tryTake()) return;
  ctx.socket.emit('protocol_error', { event: event.slice(0, 64), code, message });
}

function reply(
  ctx: HandlerContext,
  event: string,
  ack: ((r: unknown) => void) | undefined,
  result: AckResult<unknown>,
): void {
  if (ack) {
    try {
      ack(result);
    } catch (err) {
      ctx.log.warn({ err, event }, 'ack failed');
    }
  } else if (!result.ok) {
    sendProtocolError(ctx, event, result.error.code, result.error.message);
  }
}

/** Handler time, rate-limit refusals and join failures, for /metrics. */
function observe(
  metrics: Metrics | undefined,
  event: ClientEventName,
  result: AckResult<unknown>,
  startedAt: number,
): void {
  if (!metrics) return;
  metrics.signallingLatency.observe({ event }, (performance.now() - startedAt) / 1000);
  if (result.ok) return;
  if (result.error.code === 'RATE_LIMITED') metrics.rateLimited.inc({ scope: event });
  if (event === 'join_room') metrics.joinFailures.inc({ code: result.error.code });
}

/**
 * The one place handlers are registered: rate limit → parse with the shared schema → call →
 * ack. A missing ack is fine (the handler still runs); a throw becomes INTERNAL_ERROR.
 */
export function registerHandler<S extends z.ZodType, R>(
  ctx: HandlerContext,
  event: ClientEventName,
  spec: HandlerSpec<S, R>,
): void {
  const listener = async (...args: unknown[]) => {
    const { payload, extra, ack } = splitArgs(args);
    const startedAt = performance.now();
    const answer = (result: AckResult<unknown>) => {
      observe(ctx.metrics, event, result, startedAt);
      reply(ctx, event, ack, result);
    };
    try {
      if (!ctx.limits[spec.rateLimit].tryTake()) {
        return answer(ackError('RATE_LIMITED'));
      }
      if (extra > 0) {
        return answer(ackError('INVALID_PAYLOAD', 'Expected a single payload.'));
      }
      const parsed = spec.schema.safeParse(payload);
      if (!parsed.success) {
        ctx.log.debug({ event }, 'invalid payload');
        return answer(ackError('INVALID_PAYLOAD', describeIssue(parsed.error)));
      }
      const result = await spec.handle(parsed.data, ctx);
      answer(result);
    } catch (err) {
      ctx.log.error({ err, event }, 'handler threw');
      answer(ackError('INTERNAL_ERROR'));
    }
  };
  // The typed `on` wants a per-event signature; every handler takes unknown args on purpose.
  ctx.socket.on(event, listener as never);
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENT_NAMES);

/**
 * Anything outside the protocol: acked → INVALID_PAYLOAD, un-acked → a bounded protocol_error.
 * Also swallows a client-sent `error` event, which Node's EventEmitter would otherwise throw.
 */
export function guardUnknownEvents(ctx: HandlerContext): void {
  ctx.socket.onAny((event: unknown, ...args: unknown[]) => {
    const name = typeof event === 'string' ? event : String(event);
    // A protocol event nobody handles (e.g. a feature not wired in) is as unknown as junk.
    const handled = (ctx.socket as unknown as NodeJS.EventEmitter).listenerCount(name) > 0;
    if (KNOWN_EVENTS.has(name) && handled) return;
    const { ack } = splitArgs(args);
    const allowed = ctx.limits.request.tryTake();
    const result = allowed
      ? ackError('INVALID_PAYLOAD', `Unknown event.`)
      : ackError('RATE_LIMITED');
    if (!allowed) ctx.metrics?.rateLimited.inc({ scope: 'unknown_event' });
    ctx.log.debug({ event: name.slice(0, 64) }, 'unknown event');
    reply(ctx, name, ack, result);
  });
  (ctx.socket as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => {
    ctx.log.debug({ err }, 'socket error');
  });
}
