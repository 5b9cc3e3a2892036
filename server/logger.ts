import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

/**
 * Fields that must never reach a log line, at the top level or one or two levels down (for
 * example `{ config: { turn: { secret } } }` or `{ ack: { iceServers: [{ credential }] } }`).
 */
const SECRET_KEYS = [
  'secret',
  'credential',
  'password',
  'token',
  'broadcasterToken',
  'authorization',
  'cookie',
] as const;

export const REDACT_PATHS: string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
  'iceServers[*].credential',
  '*.iceServers[*].credential',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** JSON lines on stdout (or `destination`); one root logger, with child loggers per subsystem. */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'roomcast' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type Subsystem =
  'signalling' | 'rooms' | 'http' | 'stats' | 'turn' | 'relay' | 'egress' | 'cluster' | 'sfu';

export function subsystemLogger(root: Logger, subsystem: Subsystem): Logger {
  return root.child({ subsystem });
}
