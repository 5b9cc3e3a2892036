/** Bumped whenever an event's shape changes incompatibly; sent in `welcome`. */
export const PROTOCOL_VERSION = 1;

/** A room code is exactly six decimal digits. */
export const ROOM_CODE_PATTERN = /^\d{6}$/;
export const ROOM_CODE_LENGTH = 6;

/** Wire limits, shared so the client can refuse locally before the server does. */
export const LIMITS = {
  /** A full SDP with simulcast and many codecs stays well under this. */
  maxSdpChars: 64 * 1024,
  maxCandidateChars: 1024,
  maxChatChars: 500,
  maxTitleChars: 80,
  /** Room passwords are scrypt-hashed; this caps the work one request can cause. */
  maxPasswordChars: 128,
  maxPeerIdChars: 64,
  maxCodecNameChars: 32,
  /** A broadcaster reports one digest per viewer; the mesh never gets near this. */
  maxStatsPeers: 256,
  /** Socket.IO `maxHttpBufferSize`: the biggest single message the server accepts. */
  maxMessageBytes: 1_000_000,
} as const;

/** How often peers send `stats`, and how often the server sends `stats_summary`. */
export const STATS_REPORT_INTERVAL_MS = 1000;
export const STATS_SUMMARY_INTERVAL_MS = 1000;

/**
 * Media paths, in ladder order. `sfu` is WebRTC through the server; `whep` counts WHEP players,
 * who are not room members.
 */
export const MEDIA_PATHS = ['direct', 'turn', 'sfu', 'relay', 'hls', 'whep'] as const;
export type MediaPath = (typeof MEDIA_PATHS)[number];

/** Codec names as shown in the UI and in stats (from the mime type, e.g. video/AV1 → AV1). */
export const VIDEO_CODECS = ['AV1', 'VP9', 'H264', 'VP8'] as const;
export type VideoCodecName = (typeof VIDEO_CODECS)[number];
export const DEFAULT_CODEC_ORDER: readonly VideoCodecName[] = VIDEO_CODECS;

/** Quality presets: capture constraints and the per-viewer encoder cap. */
export const QUALITY_PRESETS = {
  '480p30': { width: 854, height: 480, fps: 30, maxBitrateKbps: 1000 },
  '480p60': { width: 854, height: 480, fps: 60, maxBitrateKbps: 1500 },
  '720p30': { width: 1280, height: 720, fps: 30, maxBitrateKbps: 2500 },
  '720p60': { width: 1280, height: 720, fps: 60, maxBitrateKbps: 4000 },
  '1080p30': { width: 1920, height: 1080, fps: 30, maxBitrateKbps: 4500 },
  '1080p60': { width: 1920, height: 1080, fps: 60, maxBitrateKbps: 6500 },
} as const;
export type QualityPreset = keyof typeof QUALITY_PRESETS;
export const QUALITY_PRESET_NAMES = Object.keys(QUALITY_PRESETS) as QualityPreset[];
export const DEFAULT_QUALITY: QualityPreset = '720p30';
