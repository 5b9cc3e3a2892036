import { describe, expect, it } from 'vitest';
import {
  buildVideoEncoderConfig,
  candidateCodecOrder,
  codecNameFromCodecString,
  selectVideoEncoderConfig,
  videoCodecString,
} from '../../client/src/lib/relay/codec-selection';

const P720 = { width: 1280, height: 720, fps: 30, bitrateKbps: 2500 };

describe('codecNameFromCodecString', () => {
  it('maps WebCodecs codec strings to stats names', () => {
    expect(codecNameFromCodecString('avc1.42e01f')).toBe('H264');
    expect(codecNameFromCodecString('avc3.640028')).toBe('H264');
    expect(codecNameFromCodecString('av01.0.04M.08')).toBe('AV1');
    expect(codecNameFromCodecString('vp09.00.10.08')).toBe('VP9');
    expect(codecNameFromCodecString('vp8')).toBe('VP8');
    expect(codecNameFromCodecString('VP8')).toBe('VP8');
    expect(codecNameFromCodecString('hvc1.1.6.L93.B0')).toBeNull();
    expect(codecNameFromCodecString('')).toBeNull();
    expect(codecNameFromCodecString(null)).toBeNull();
  });
});

describe('candidateCodecOrder', () => {
  it('keeps the order, drops duplicates, and moves H.264 first when preferred', () => {
    expect(candidateCodecOrder(['AV1', 'VP9', 'H264', 'VP8'], false)).toEqual([
      'AV1',
      'VP9',
      'H264',
      'VP8',
    ]);
    expect(candidateCodecOrder(['AV1', 'VP9', 'H264', 'VP8'], true)).toEqual([
      'H264',
      'AV1',
      'VP9',
      'VP8',
    ]);
    expect(candidateCodecOrder(['VP8', 'VP8'], false)).toEqual(['VP8']);
    // Egress needs H.264 even if the broadcaster's own order left it out.
    expect(candidateCodecOrder(['AV1'], true)).toEqual(['H264', 'AV1']);
  });
});

describe('videoCodecString', () => {
  it('picks an H.264 constrained-baseline level that fits the picture and rate', () => {
    expect(videoCodecString('H264', 640, 480, 30)).toBe('avc1.42e01e');
    expect(videoCodecString('H264', 854, 480, 30)).toBe('avc1.42e01f'); // 48600 MB/s > level 3.0
    expect(videoCodecString('H264', 1280, 720, 30)).toBe('avc1.42e01f');
    expect(videoCodecString('H264', 1280, 720, 60)).toBe('avc1.42e020');
    expect(videoCodecString('H264', 1920, 1080, 30)).toBe('avc1.42e028');
    expect(videoCodecString('H264', 1920, 1080, 60)).toBe('avc1.42e02a');
  });

  it('picks AV1 and VP9 levels by size', () => {
    expect(videoCodecString('AV1', 854, 480, 30)).toBe('av01.0.04M.08');
    expect(videoCodecString('AV1', 1280, 720, 30)).toBe('av01.0.05M.08');
    expect(videoCodecString('AV1', 1920, 1080, 30)).toBe('av01.0.08M.08');
    expect(videoCodecString('AV1', 1920, 1080, 60)).toBe('av01.0.09M.08');
    expect(videoCodecString('VP9', 1280, 720, 30)).toBe('vp09.00.31.08');
    expect(videoCodecString('VP9', 1920, 1080, 30)).toBe('vp09.00.40.08');
    expect(videoCodecString('VP8', 1920, 1080, 60)).toBe('vp8');
  });
});

describe('buildVideoEncoderConfig', () => {
  it('is realtime, carries the bitrate, and asks for avcC output for H.264', () => {
    const h264 = buildVideoEncoderConfig('H264', P720);
    expect(h264).toMatchObject({
      codec: 'avc1.42e01f',
      width: 1280,
      height: 720,
      bitrate: 2_500_000,
      framerate: 30,
      latencyMode: 'realtime',
      avc: { format: 'avc' },
    });
    const vp8 = buildVideoEncoderConfig('VP8', P720);
    expect(vp8.avc).toBeUndefined();
    expect(vp8.latencyMode).toBe('realtime');
  });

  it('rounds odd sizes down to even', () => {
    const config = buildVideoEncoderConfig('VP8', { ...P720, width: 641, height: 361 });
    expect([config.width, config.height]).toEqual([640, 360]);
  });
});

describe('selectVideoEncoderConfig', () => {
  const supportsOnly =
    (...prefixes: string[]) =>
    (config: VideoEncoderConfig) =>
      Promise.resolve(prefixes.some((p) => config.codec.startsWith(p)));

  it('returns the first supported codec in order', async () => {
    const picked = await selectVideoEncoderConfig(
      ['AV1', 'VP9', 'H264', 'VP8'],
      false,
      P720,
      supportsOnly('vp09', 'vp8'),
    );
    expect(picked?.name).toBe('VP9');
    expect(picked?.config.codec).toBe('vp09.00.31.08');
  });

  it('tries H.264 first when egress prefers it', async () => {
    const asked: string[] = [];
    const picked = await selectVideoEncoderConfig(['AV1', 'VP8', 'H264'], true, P720, (c) => {
      asked.push(c.codec);
      return Promise.resolve(true);
    });
    expect(picked?.name).toBe('H264');
    expect(asked).toEqual(['avc1.42e01f']);
  });

  it('skips excluded codecs and ones whose check throws; null when nothing fits', async () => {
    const throwsForAv1 = (c: VideoEncoderConfig) =>
      c.codec.startsWith('av01') ? Promise.reject(new Error('boom')) : Promise.resolve(true);
    const picked = await selectVideoEncoderConfig(
      ['AV1', 'VP9', 'VP8'],
      false,
      P720,
      throwsForAv1,
      new Set(['VP9'] as const),
    );
    expect(picked?.name).toBe('VP8');
    expect(
      await selectVideoEncoderConfig(['AV1', 'VP8'], false, P720, supportsOnly('hvc1')),
    ).toBeNull();
  });
});
