import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Everything the server reads from the environment. Grouped by concern so later rungs
 * (TURN, relay, egress) add their own block without touching the others.
 */
export interface Config {
  port: number;
  host: string;
  logLevel: LogLevel;
  clientDir: string;
  rooms: {
    maxViewersPerRoom: number;
    maxRooms: number;
    reclaimGraceMs: number;
  };
  ice: {
    /** Public STUN servers handed to clients; empty by default (host candidates only). */
    stunUrls: string[];
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid environment variable ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** An unset or empty variable means "use the default". */
const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .optional()
      .transform((n) => n ?? fallback),
  );

const STUN_URL = /^stuns?:[^\s,]+$/;

const EnvSchema = z.object({
  PORT: integer(8080, 0, 65535),
  HOST: z.preprocess(blankToUndefined, z.string().max(255).default('0.0.0.0')),
  MAX_VIEWERS_PER_ROOM: integer(100, 1, 100_000),
  MAX_ROOMS: integer(10_000, 1, 10_000_000),
  RECLAIM_GRACE_S: integer(30, 0, 3600),
  STUN_URLS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((s) =>
        (s ?? '')
          .split(',')
          .map((u) => u.trim())
          .filter((u) => u !== ''),
      )
      .pipe(z.array(z.string().regex(STUN_URL, 'each entry must look like stun:host:port'))),
  ),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).default('info')),
  CLIENT_DIR: z.preprocess(blankToUndefined, z.string().default('dist/client')),
});

/** Parses the environment; throws a ConfigError that names the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    clientDir: e.CLIENT_DIR,
    rooms: {
      maxViewersPerRoom: e.MAX_VIEWERS_PER_ROOM,
      maxRooms: e.MAX_ROOMS,
      reclaimGraceMs: e.RECLAIM_GRACE_S * 1000,
    },
    ice: { stunUrls: e.STUN_URLS },
  };
}
