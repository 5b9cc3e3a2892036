import { VIDEO_CODECS, type VideoCodecName } from '../../../../shared';

/**
 * Pure helpers that pick a WebCodecs video codec string for the relay upstream and map codec
 * strings back to the names used in stats (AV1, VP9, H264, VP8).
 */

export interface VideoEncodeParams {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

/** 'avc1.42e01f' → H264, 'av01.0.05M.08' → AV1, 'vp09.00.31.08' → VP9, 'vp8' → VP8. */
export function codecNameFromCodecString(codec: string | null | undefined): VideoCodecName | null {
  if (!codec) return null;
  const prefix = codec.trim().toLowerCase().split('.')[0] ?? '';
  switch (prefix) {
    case 'avc1':
    case 'avc3':
      return 'H264';
    case 'av01':
      return 'AV1';
    case 'vp09':
    case 'vp9':
      return 'VP9';
    case 'vp8':
      return 'VP8';
    default:
      return null;
  }
}

/** The encoder candidates in order: `order` (unknown names removed), H.264 first when preferred. */
export function candidateCodecOrder(
  order: readonly VideoCodecName[],
  preferH264: boolean,
): VideoCodecName[] {
  const known = order.filter(
    (name, index) => VIDEO_CODECS.includes(name) && order.indexOf(name) === index,
  );
  if (!preferH264) return known;
  return ['H264', ...known.filter((name) => name !== 'H264')];
}

const H264_LEVELS: readonly { level: number; maxFrameMbs: number; maxMbps: number }[] = [
  { level: 0x1e, maxFrameMbs: 1620, maxMbps: 40500 }, // 3.0
  { level: 0x1f, maxFrameMbs: 3600, maxMbps: 108000 }, // 3.1
  { level: 0x20, maxFrameMbs: 5120, maxMbps: 216000 }, // 3.2
  { level: 0x28, maxFrameMbs: 8192, maxMbps: 245760 }, // 4.0
  { level: 0x2a, maxFrameMbs: 8704, maxMbps: 522240 }, // 4.2
  { level: 0x32, maxFrameMbs: 22080, maxMbps: 589824 }, // 5.0
  { level: 0x33, maxFrameMbs: 36864, maxMbps: 983040 }, // 5.1
];

function h264Level(width: number, height: number, fps: number): number {
  const frameMbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const mbps = frameMbs * Math.max(1, fps);
  const fit = H264_LEVELS.find((l) => frameMbs <= l.maxFrameMbs && mbps <= l.maxMbps);
  return (fit ?? H264_LEVELS[H264_LEVELS.length - 1]!).level;
}

/** The smallest AV1 seq_level_idx (main profile, 8 bit) whose picture size and rate fit. */
function av1Level(width: number, height: number, fps: number): string {
  const samples = width * height;
  const rate = samples * Math.max(1, fps);
  // [seq_level_idx, MaxPicSize, MaxDisplayRate]
  const levels: [number, number, number][] = [
    [4, 665856, 24969600], // 3.0
    [5, 1065024, 39938400], // 3.1
    [8, 2359296, 77856768], // 4.0
    [9, 2359296, 155713536], // 4.1
    [12, 8912896, 273715200], // 5.0
  ];
  const fit = levels.find(([, pic, disp]) => samples <= pic && rate <= disp) ?? levels[4]!;
  return String(fit[0]).padStart(2, '0');
}

function vp9Level(width: number, height: number, fps: number): string {
  const samples = width * height;
  const rate = samples * Math.max(1, fps);
  // [level, MaxPicSize, MaxSampleRate]
  const levels: [string, number, number][] = [
    ['21', 122880, 4608000],
    ['30', 552960, 20736000],
    ['31', 983040, 36864000],
    ['40', 2228224, 83558400],
    ['41', 2228224, 160432128],
    ['50', 8912896, 311951360],
  ];
  return (levels.find(([, pic, r]) => samples <= pic && rate <= r) ?? levels[5]!)[0];
}

/** A codec string with a level that fits the picture (H.264 constrained baseline, 8-bit AV1/VP9). */
export function videoCodecString(
  name: VideoCodecName,
  width: number,
  height: number,
  fps: number,
): string {
  switch (name) {
    case 'H264':
      return `avc1.42e0${h264Level(width, height, fps).toString(16).padStart(2, '0')}`;
    case 'AV1':
      return `av01.0.${av1Level(width, height, fps)}M.08`;
    case 'VP9':
      return `vp09.00.${vp9Level(width, height, fps)}.08`;
    case 'VP8':
      return 'vp8';
  }
}

/** Encoders want even dimensions (4:2:0). */
function even(value: number): number {
  return Math.max(2, Math.floor(value / 2) * 2);
}

export function buildVideoEncoderConfig(
  name: VideoCodecName,
  params: VideoEncodeParams,
): VideoEncoderConfig {
  const width = even(params.width);
  const height = even(params.height);
  const config: VideoEncoderConfig = {
    codec: videoCodecString(name, width, height, params.fps),
    width,
    height,
    bitrate: Math.round(params.bitrateKbps * 1000),
    bitrateMode: 'variable',
    framerate: params.fps,
    latencyMode: 'realtime',
  };
  // AVC format puts SPS/PPS in the decoder config's `description` (avcC), not in-band.
  if (name === 'H264') config.avc = { format: 'avc' };
  return config;
}

/**
 * The first candidate the browser says it can encode, or null. `isSupported` is
 * `VideoEncoder.isConfigSupported` in the browser and a fake in tests.
 */
export async function selectVideoEncoderConfig(
  order: readonly VideoCodecName[],
  preferH264: boolean,
  params: VideoEncodeParams,
  isSupported: (config: VideoEncoderConfig) => Promise<boolean>,
  exclude: ReadonlySet<VideoCodecName> = new Set(),
): Promise<{ name: VideoCodecName; config: VideoEncoderConfig } | null> {
  for (const name of candidateCodecOrder(order, preferH264)) {
    if (exclude.has(name)) continue;
    const config = buildVideoEncoderConfig(name, params);
    const ok = await isSupported(config).catch(() => false);
    if (ok) return { name, config };
  }
  return null;
}
