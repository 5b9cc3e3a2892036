import { pino, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

/** JSON lines on stdout; one root logger, with child loggers per subsystem. */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { service: 'roomcast' } });
}

export type Subsystem = 'signalling' | 'rooms' | 'http' | 'stats';

export function subsystemLogger(root: Logger, subsystem: Subsystem): Logger {
  return root.child({ subsystem });
}
