import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { HlsPolicySchema, RESTREAM_TARGET_NAME_MAX, type HlsPolicy } from '../shared/index';

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
  turn: {
    /** coturn URLs handed to room members (turn:host:port?transport=udp|tcp, turns:…). */
    urls: string[];
    /** coturn `static-auth-secret`; null disables TURN. Never logged, never sent to a client. */
    secret: string | null;
    /** Lifetime of one minted TURN REST credential, in seconds. */
    ttlS: number;
  };
  ladder: {
    /** WebRTC (direct + TURN) viewers per broadcaster before new viewers go to the relay. */
    maxMeshViewers: number;
    /** No inbound WebRTC video for this long → the viewer falls back to the relay. */
    mediaTimeoutMs: number;
    /** While on the relay, a viewer retries WebRTC this often. */
    retryIntervalMs: number;
  };
  relay: {
    enabled: boolean;
    /** Upper bound on one room's upstream relay byte rate, in kbit/s. */
    maxRoomKbps: number;
    /** Per-viewer unsent bytes before that viewer's video deltas are dropped until a keyframe. */
    viewerBacklogBytes: number;
    /** Upper bound on one room's GOP cache. */
    gopCacheBytes: number;
  };
  egress: {
    /** FFMPEG_PATH, else `ffmpeg` on PATH; probed at start (missing → egress off). */
    ffmpegPath: string;
    /** Where HLS room directories live. */
    hlsDir: string;
    /** `optional`: the broadcaster's toggle; `forced_on`/`forced_off`: the server decides. */
    hlsPolicy: HlsPolicy;
    hlsSegmentSeconds: number;
    hlsListSize: number;
    /** How long an ended mirror (with ENDLIST) stays served before its directory is removed. */
    hlsRetentionMs: number;
    /** Named RTMP targets; the URLs (stream keys) stay here, only names reach clients. */
    rtmpTargets: { name: string; url: string }[];
    /** Every broadcast is recorded here when set. */
    recordDir: string | null;
    /** Bearer token for the recordings API (and later the admin API); null → API off. */
    adminToken: string | null;
    /** Video bitrate when ffmpeg has to re-encode (non-H.264 source). */
    transcodeKbps: number;
  };
  /** Where the server keeps files it generates (the self-signed certificate). */
  dataDir: string;
  tls: {
    /** PEM files; both set → HTTPS and WSS on the same port. */
    certFile: string | null;
    keyFile: string | null;
    /** Generate a certificate for localhost and the LAN addresses into dataDir. */
    selfSigned: boolean;
  };
  metrics: {
    /** Bearer token for GET /metrics; null leaves it open. Never logged. */
    token: string | null;
  };
  access: {
    /** Required in the handshake `auth.token` to create rooms; null lets anyone broadcast. */
    broadcastToken: string | null;
    /** Bearer token for /api/admin/*; null answers 404 there. */
    adminToken: string | null;
    /** HMAC key for broadcaster tokens; null → generated once into DATA_DIR. */
    roomSecret: string | null;
    dataDir: string;
    /** Reverse-proxy hops whose X-Forwarded-For is trusted; 0 uses the socket address. */
    trustProxyHops: number;
    /** Origins allowed besides the app's own (browser CORS and Socket.IO). */
    allowedOrigins: string[];
  };
  /** The server WebRTC rung (SFU) and WHEP: server/sfu/. */
  sfu: {
    /** One UDP port for every server peer connection (ICE UDP mux); 0 picks a free one. */
    udpPort: number;
    /** Announced in answers instead of the host's addresses (1:1 NAT). */
    publicIp: string | null;
    /** SFU viewers plus WHEP players per process; 0 switches the SFU off. */
    maxViewers: number;
  };
  /** Several nodes share one service through Redis; null → everything in this process. */
  redis: {
    url: string | null;
    /** This node's base URL as the other nodes reach it (HLS requests are proxied there). */
    nodeUrl: string | null;
  };
  limits: {
    /** Failed joins (ROOM_NOT_FOUND) per IP per minute before RATE_LIMITED, with backoff. */
    failedJoinsPerMin: number;
    createRoomsPerMin: number;
    /** REST requests per IP per minute (/api/*). */
    apiRequestsPerMin: number;
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
const TURN_URL = /^turns?:[^\s,]+$/;

const urlList = (pattern: RegExp, message: string) =>
  z.preprocess(
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
      .pipe(z.array(z.string().regex(pattern, message))),
  );

const boolean = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], {
        error: 'must be true or false',
      })
      .optional()
      .transform((v) => (v === undefined ? fallback : ['1', 'true', 'yes', 'on'].includes(v))),
  );

/** A secret too short to resist guessing is a configuration error, not a warning. */
const MIN_SECRET_LENGTH = 16;

const optionalSecret = (variable: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .min(MIN_SECRET_LENGTH, `${variable} must be at least ${MIN_SECRET_LENGTH} characters`)
      .max(512)
      .regex(/^\S+$/, 'must not contain whitespace')
      .optional(),
  );

const ORIGIN = /^https?:\/\/[^\s,/]+$/;

/** `true`/`false` (one hop / none) or a hop count. */
const trustProxy = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(/^(\d{1,2}|true|false|yes|no|on|off)$/, 'must be true, false or a hop count')
    .optional()
    .transform((v) => {
      if (v === undefined || ['false', 'no', 'off'].includes(v)) return 0;
      if (['true', 'yes', 'on'].includes(v)) return 1;
      return Number(v);
    }),
);

const EnvSchema = z.object({
  PORT: integer(8080, 0, 65535),
  HOST: z.preprocess(blankToUndefined, z.string().max(255).default('0.0.0.0')),
  MAX_VIEWERS_PER_ROOM: integer(100, 1, 100_000),
  MAX_ROOMS: integer(10_000, 1, 10_000_000),
  RECLAIM_GRACE_S: integer(30, 0, 3600),
  STUN_URLS: urlList(STUN_URL, 'each entry must look like stun:host:port'),
  TURN_URLS: urlList(TURN_URL, 'each entry must look like turn:host:port?transport=udp'),
  TURN_SECRET: z.preprocess(
    blankToUndefined,
    z
      .string()
      .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`)
      .regex(/^\S+$/, 'must not contain whitespace')
      .optional(),
  ),
  TURN_SECRET_FILE: z.preprocess(blankToUndefined, z.string().optional()),
  TURN_TTL_S: integer(3600, 60, 7 * 24 * 3600),
  MAX_MESH_VIEWERS: integer(8, 0, 10_000),
  MEDIA_TIMEOUT_MS: integer(8000, 500, 600_000),
  WEBRTC_RETRY_MS: integer(30_000, 1000, 3_600_000),
  RELAY_ENABLED: boolean(true),
  RELAY_MAX_ROOM_KBPS: integer(40_000, 100, 10_000_000),
  RELAY_VIEWER_BACKLOG_BYTES: integer(2_000_000, 64 * 1024, 1_000_000_000),
  RELAY_GOP_CACHE_BYTES: integer(8_000_000, 256 * 1024, 1_000_000_000),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).default('info')),
  CLIENT_DIR: z.preprocess(blankToUndefined, z.string().default('dist/client')),
  FFMPEG_PATH: z.preprocess(blankToUndefined, z.string().max(4096).default('ffmpeg')),
  HLS_DIR: z.preprocess(
    blankToUndefined,
    z.string().max(4096).default(join(tmpdir(), 'roomcast-hls')),
  ),
  HLS_MIRROR: z.preprocess(blankToUndefined, HlsPolicySchema.default('optional')),
  HLS_SEGMENT_S: integer(1, 1, 10),
  HLS_LIST_SIZE: integer(6, 3, 60),
  HLS_RETENTION_S: integer(60, 0, 86_400),
  RTMP_TARGETS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((s, ctx) => {
        if (s === undefined) return [];
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {"name","url"}' });
          return z.NEVER;
        }
      })
      .pipe(
        z
          .array(
            z.strictObject({
              name: z
                .string()
                .trim()
                .min(1)
                .max(RESTREAM_TARGET_NAME_MAX)
                .regex(/^[\p{L}\p{N} ._()-]+$/u, 'target names: letters, digits, space . _ ( ) -'),
              url: z
                .string()
                .max(2048)
                .regex(/^rtmps?:\/\/[^\s]+$/, 'target urls must be rtmp:// or rtmps://'),
            }),
          )
          .max(20)
          .refine((list) => new Set(list.map((t) => t.name)).size === list.length, {
            message: 'target names must be unique',
          }),
      ),
  ),
  RECORD_DIR: z.preprocess(blankToUndefined, z.string().max(4096).optional()),
  TRANSCODE_KBPS: integer(2500, 200, 50_000),
  TLS_CERT_FILE: z.preprocess(blankToUndefined, z.string().optional()),
  TLS_KEY_FILE: z.preprocess(blankToUndefined, z.string().optional()),
  SELF_SIGNED: boolean(false),
  METRICS_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`)
      .regex(/^\S+$/, 'must not contain whitespace')
      .optional(),
  ),
  BROADCAST_TOKEN: optionalSecret('BROADCAST_TOKEN'),
  ADMIN_TOKEN: optionalSecret('ADMIN_TOKEN'),
  ROOM_SECRET: optionalSecret('ROOM_SECRET'),
  DATA_DIR: z.preprocess(blankToUndefined, z.string().default('data')),
  TRUST_PROXY: trustProxy,
  ALLOWED_ORIGINS: urlList(ORIGIN, 'each entry must be an origin like https://example.org'),
  FAILED_JOINS_PER_MIN: integer(10, 1, 1_000_000),
  CREATE_ROOMS_PER_MIN: integer(30, 1, 1_000_000),
  API_REQUESTS_PER_MIN: integer(300, 1, 10_000_000),
  WEBRTC_UDP_PORT: integer(8189, 0, 65535),
  WEBRTC_PUBLIC_IP: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')
      .optional(),
  ),
  MAX_SFU_VIEWERS: integer(500, 0, 100_000),
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .max(2048)
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  NODE_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/]+\/?$/, 'must be a base URL like http://10.0.0.11:8080')
      .optional(),
  ),
});

export type ReadSecretFile = (path: string) => string;

const readUtf8: ReadSecretFile = (path) => readFileSync(path, 'utf8');

/**
 * The TURN secret comes from TURN_SECRET or from the file named by TURN_SECRET_FILE (surrounding
 * whitespace ignored, as turn/start-turn.sh does), never both. Errors name the variable, never
 * the value.
 */
function turnSecret(
  secret: string | undefined,
  file: string | undefined,
  readFile: ReadSecretFile,
): string | null {
  if (secret !== undefined && file !== undefined) {
    throw new ConfigError('TURN_SECRET_FILE', 'set TURN_SECRET or TURN_SECRET_FILE, not both');
  }
  if (file === undefined) return secret ?? null;
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError('TURN_SECRET_FILE', `cannot read the file (${code})`);
  }
  const fromFile = text.trim();
  if (fromFile.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      'TURN_SECRET_FILE',
      `the secret must be at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  if (/\s/.test(fromFile)) {
    throw new ConfigError('TURN_SECRET_FILE', 'the secret must not contain whitespace');
  }
  return fromFile;
}

/** Parses the environment; throws a ConfigError that names the first bad variable. */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: ReadSecretFile = readUtf8,
): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, issue?.message ?? 'invalid value');
  }
  const e = parsed.data;
  const secret = turnSecret(e.TURN_SECRET, e.TURN_SECRET_FILE, readFile);
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    const missing = e.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
    throw new ConfigError(missing, 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither');
  }
  if (e.REDIS_URL !== undefined && e.ROOM_SECRET === undefined) {
    // Each node would otherwise sign broadcaster tokens with its own generated secret.
    throw new ConfigError('ROOM_SECRET', 'set it (the same on every node) when REDIS_URL is set');
  }
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
    turn: { urls: e.TURN_URLS, secret, ttlS: e.TURN_TTL_S },
    ladder: {
      maxMeshViewers: e.MAX_MESH_VIEWERS,
      mediaTimeoutMs: e.MEDIA_TIMEOUT_MS,
      retryIntervalMs: e.WEBRTC_RETRY_MS,
    },
    relay: {
      enabled: e.RELAY_ENABLED,
      maxRoomKbps: e.RELAY_MAX_ROOM_KBPS,
      viewerBacklogBytes: e.RELAY_VIEWER_BACKLOG_BYTES,
      gopCacheBytes: e.RELAY_GOP_CACHE_BYTES,
    },
    egress: {
      ffmpegPath: e.FFMPEG_PATH,
      hlsDir: e.HLS_DIR,
      hlsPolicy: e.HLS_MIRROR,
      hlsSegmentSeconds: e.HLS_SEGMENT_S,
      hlsListSize: e.HLS_LIST_SIZE,
      hlsRetentionMs: e.HLS_RETENTION_S * 1000,
      rtmpTargets: e.RTMP_TARGETS,
      recordDir: e.RECORD_DIR ?? null,
      adminToken: e.ADMIN_TOKEN ?? null,
      transcodeKbps: e.TRANSCODE_KBPS,
    },
    dataDir: e.DATA_DIR,
    tls: {
      certFile: e.TLS_CERT_FILE ?? null,
      keyFile: e.TLS_KEY_FILE ?? null,
      selfSigned: e.SELF_SIGNED,
    },
    metrics: { token: e.METRICS_TOKEN ?? null },
    access: {
      broadcastToken: e.BROADCAST_TOKEN ?? null,
      adminToken: e.ADMIN_TOKEN ?? null,
      roomSecret: e.ROOM_SECRET ?? null,
      dataDir: e.DATA_DIR,
      trustProxyHops: e.TRUST_PROXY,
      allowedOrigins: e.ALLOWED_ORIGINS,
    },
    sfu: {
      udpPort: e.WEBRTC_UDP_PORT,
      publicIp: e.WEBRTC_PUBLIC_IP ?? null,
      maxViewers: e.MAX_SFU_VIEWERS,
    },
    redis: { url: e.REDIS_URL ?? null, nodeUrl: e.NODE_URL?.replace(/\/$/, '') ?? null },
    limits: {
      failedJoinsPerMin: e.FAILED_JOINS_PER_MIN,
      createRoomsPerMin: e.CREATE_ROOMS_PER_MIN,
      apiRequestsPerMin: e.API_REQUESTS_PER_MIN,
    },
  };
}
