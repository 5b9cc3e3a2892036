import { z } from 'zod';
import { RoomCodeSchema } from './schemas';

/**
 * Egress: the public HLS mirror, RTMP restreams and recording, all fed by the relay upstream
 * through one ffmpeg bridge per output. Target names are public; their URLs (stream keys) never
 * leave the server config.
 */

/** How long an HLS reader counts as watching after its last playlist request. */
export const HLS_VIEWER_WINDOW_MS = 10_000;
/** The mirror's segment length target, in seconds; the relay upstream keys every 1 s. */
export const HLS_SEGMENT_SECONDS = 1;
export const RESTREAM_TARGET_NAME_MAX = 64;

export const hlsPlaylistPath = (roomId: string): string => `/hls/${roomId}/index.m3u8`;
export const livePagePath = (roomId: string): string => `/live/${roomId}`;

// ---- client → server ---------------------------------------------------------------------

/** Broadcaster: switch the public HLS mirror on or off (refused when the server forces it). */
export const EgressSetSchema = z.strictObject({ hls: z.boolean() });
export type EgressSetRequest = z.infer<typeof EgressSetSchema>;

/** Broadcaster: start or stop one configured RTMP target, chosen by name only. */
export const RestreamSetSchema = z.strictObject({
  target: z.string().min(1).max(RESTREAM_TARGET_NAME_MAX),
  on: z.boolean(),
});
export type RestreamSetRequest = z.infer<typeof RestreamSetSchema>;

// ---- server → client ---------------------------------------------------------------------

/**
 * One output's life: `starting` (waiting for a keyframe or for ffmpeg's first output), `live`,
 * `restarting` (ffmpeg died; back within 2 s), `retrying` (a restream failed; next attempt after
 * `retryInMs`), `ended` (ENDLIST written), `unavailable` (ffmpeg missing).
 */
export const EgressStateSchema = z.enum([
  'off',
  'starting',
  'live',
  'restarting',
  'retrying',
  'ended',
  'unavailable',
]);
export type EgressState = z.infer<typeof EgressStateSchema>;

export const EgressOutputStatusSchema = z.object({
  state: EgressStateSchema,
  /** A short, secret-free reason for the last failure (never a URL). */
  error: z.string().nullable(),
  /** ffmpeg restarts since this output was switched on. */
  restarts: z.number().int().min(0),
  /** When the next retry happens (restreams in `retrying`). */
  retryInMs: z.number().int().min(0).nullable(),
  /** ffmpeg's reported speed (1 = real time), when running. */
  speed: z.number().min(0).nullable(),
});
export type EgressOutputStatus = z.infer<typeof EgressOutputStatusSchema>;

export const HlsPolicySchema = z.enum(['optional', 'forced_on', 'forced_off']);
export type HlsPolicy = z.infer<typeof HlsPolicySchema>;

/** What this server can do; sent in the create/reclaim ack. */
export const EgressCapabilitiesSchema = z.object({
  /** ffmpeg was found; without it there is no mirror and no restream. */
  ffmpeg: z.boolean(),
  /** Why egress is off, for the UI (e.g. "ffmpeg is not installed on the server"). */
  reason: z.string().nullable(),
  hlsPolicy: HlsPolicySchema,
  /** Configured restream target names, in config order. */
  restreamTargets: z.array(z.string()),
  /** Every broadcast is recorded (RECORD_DIR is set). */
  recording: z.boolean(),
});
export type EgressCapabilities = z.infer<typeof EgressCapabilitiesSchema>;

export const EgressStatusSchema = z.object({
  roomId: RoomCodeSchema,
  capabilities: EgressCapabilitiesSchema,
  hls: EgressOutputStatusSchema.extend({
    /** The mirror is switched on (by the broadcaster or the server policy). */
    on: z.boolean(),
    /** `/live/<room>` and `/hls/<room>/index.m3u8` while on. */
    pageUrl: z.string().nullable(),
    playlistUrl: z.string().nullable(),
  }),
  restreams: z.array(EgressOutputStatusSchema.extend({ name: z.string(), on: z.boolean() })),
  recording: EgressOutputStatusSchema.extend({ on: z.boolean() }),
  /** The source is not H.264, so ffmpeg re-encodes the video (costs server CPU). */
  transcoding: z.boolean(),
});
export type EgressStatus = z.infer<typeof EgressStatusSchema>;

/** `GET /api/streams`: rooms whose public mirror is on. */
export const PublicStreamSchema = z.object({
  roomId: RoomCodeSchema,
  title: z.string(),
  startedAt: z.number(),
  viewerCount: z.number().int().min(0),
  pageUrl: z.string(),
  playlistUrl: z.string(),
  live: z.boolean(),
});
export type PublicStream = z.infer<typeof PublicStreamSchema>;

/** `GET /api/recordings` (admin). */
export const RecordingEntrySchema = z.object({
  name: z.string(),
  roomId: RoomCodeSchema,
  bytes: z.number().int().min(0),
  startedAt: z.number(),
  /** Null while the broadcast is still being recorded. */
  endedAt: z.number().nullable(),
  downloadUrl: z.string(),
});
export type RecordingEntry = z.infer<typeof RecordingEntrySchema>;
