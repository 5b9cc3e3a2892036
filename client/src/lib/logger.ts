/**
 * A tiny leveled console logger with a subsystem name. Debug is off by default; turn it on
 * with `localStorage.setItem('roomcast:debug', '1')` or `setLogLevel('debug')`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function initialLevel(): LogLevel {
  try {
    if (typeof localStorage !== 'undefined' && localStorage.getItem('roomcast:debug') === '1') {
      return 'debug';
    }
  } catch {
    // localStorage can throw in sandboxed frames; fall back to the default.
  }
  return 'info';
}

let currentLevel: LogLevel = initialLevel();

export function setLogLevel(level: LogLevel): void {
  currentLevel = level;
}

export function getLogLevel(): LogLevel {
  return currentLevel;
}

export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export function createLogger(subsystem: string): Logger {
  const prefix = `[${subsystem}]`;
  const write =
    (level: LogLevel) =>
    (message: string, ...details: unknown[]) => {
      if (LEVEL_RANK[level] < LEVEL_RANK[currentLevel]) return;
      const sink = level === 'debug' ? console.debug : console[level];
      sink(prefix, message, ...details);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
