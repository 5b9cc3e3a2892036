import { describe, expect, it } from 'vitest';
import { encodeRelayFrame, type RelayFrame } from '../../shared/index';
import { hlsFilePath, hlsRoomDir, recordingPath, within } from '../../server/egress/egress-paths';
import { buildFfmpegArgs, videoModeFor } from '../../server/egress/ffmpeg-args';
import { FfmpegStderrParser, type FfmpegProgress } from '../../server/egress/ffmpeg-progress';
import { HlsViewerCounter, readerKeyOf } from '../../server/egress/hls-viewers';
import { RelayMkvFeed, type FeedSource } from '../../server/egress/relay-mkv-feed';
import {
  backoffDelayMs,
  HLS_RESTART_POLICY,
  RestartTracker,
  RTMP_RETRY_POLICY,
} from '../../server/egress/restart-policy';

const hls = (append = false) =>
  ({ kind: 'hls', dir: '/srv/hls/123456', segmentSeconds: 1, listSize: 6, append }) as const;
const valueAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('ffmpeg argument builder', () => {
  it('copies H.264 and transcodes everything else', () => {
    expect(videoModeFor('avc1.42e01f')).toBe('copy');
    expect(videoModeFor('avc3.640028')).toBe('copy');
    for (const c of ['vp09.00.10.08', 'vp8', 'av01.0.04M.08', 'hvc1.1.6.L93.B0']) {
      expect(videoModeFor(c)).toBe('transcode');
    }
  });

  it('copy mode never re-encodes video and converts Opus to AAC', () => {
    const args = buildFfmpegArgs({
      output: hls(),
      video: { mode: 'copy', bitrateKbps: 2500, keyframeSeconds: 1 },
      hasAudio: true,
    });
    expect(valueAfter(args, '-c:v')).toBe('copy');
    expect(args).not.toContain('libx264');
    expect(valueAfter(args, '-c:a')).toBe('aac');
    expect(args).toContain('0:a:0');
  });

  it('transcode mode uses libx264 veryfast zerolatency with a keyframe every segment', () => {
    const args = buildFfmpegArgs({
      output: { ...hls(), segmentSeconds: 2 },
      video: { mode: 'transcode', bitrateKbps: 1800, keyframeSeconds: 2 },
      hasAudio: false,
    });
    expect(valueAfter(args, '-c:v')).toBe('libx264');
    expect(valueAfter(args, '-preset')).toBe('veryfast');
    expect(valueAfter(args, '-tune')).toBe('zerolatency');
    expect(valueAfter(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
    expect(valueAfter(args, '-b:v')).toBe('1800k');
    expect(args).not.toContain('-c:a');
    expect(args).not.toContain('0:a:0');
  });

  it('HLS output: ~1 s MPEG-TS segments, PDT, deletes old segments, appends after a crash', () => {
    const fresh = buildFfmpegArgs({
      output: hls(false),
      video: { mode: 'copy', bitrateKbps: 0, keyframeSeconds: 1 },
      hasAudio: true,
    });
    expect(valueAfter(fresh, '-hls_time')).toBe('1');
    const flags = valueAfter(fresh, '-hls_flags') ?? '';
    expect(flags).toContain('program_date_time');
    expect(flags).toContain('delete_segments');
    expect(flags).toContain('independent_segments');
    expect(flags).not.toContain('append_list');
    expect(fresh.at(-1)).toBe('/srv/hls/123456/index.m3u8');
    const restarted = buildFfmpegArgs({
      output: hls(true),
      video: { mode: 'copy', bitrateKbps: 0, keyframeSeconds: 1 },
      hasAudio: true,
    });
    expect(valueAfter(restarted, '-hls_flags')).toContain('append_list');
  });

  it('input is Matroska on stdin with a protocol whitelist; RTMP output is FLV to the configured URL', () => {
    const args = buildFfmpegArgs({
      output: { kind: 'rtmp', url: 'rtmp://a.example/live/key' },
      video: { mode: 'copy', bitrateKbps: 0, keyframeSeconds: 2 },
      hasAudio: true,
    });
    const input = args.indexOf('-i');
    expect(args[input + 1]).toBe('pipe:0');
    expect(args.slice(0, input)).toContain('-protocol_whitelist');
    expect(valueAfter(args, '-f')).toBe('matroska');
    expect(args.at(-1)).toBe('rtmp://a.example/live/key');
    expect(args[args.length - 2]).toBe('rtmp,rtmps,tcp,tls');
    expect(args).toContain('flv');
  });
});

describe('egress path validation', () => {
  const root = '/srv/hls';
  it('accepts only a 6-digit room with index.m3u8 or seg-N.ts', () => {
    expect(hlsFilePath(root, '123456', 'index.m3u8')).toEqual({
      path: '/srv/hls/123456/index.m3u8',
      kind: 'playlist',
    });
    expect(hlsFilePath(root, '123456', 'seg-42.ts')?.kind).toBe('segment');
  });

  it.each([
    ['12345', 'index.m3u8'],
    ['1234567', 'index.m3u8'],
    ['12345a', 'index.m3u8'],
    ['..', 'index.m3u8'],
    ['123456', '../index.m3u8'],
    ['123456', '..%2Findex.m3u8'],
    ['123456', 'index.m3u8.tmp'],
    ['123456', 'seg-1.ts.tmp'],
    ['123456', 'seg-.ts'],
    ['123456', 'seg-1.mp4'],
    ['123456', '/etc/passwd'],
    ['123456', 'seg-1.ts/..'],
    ['123456', ''],
    ['', 'index.m3u8'],
    ['123456\n', 'index.m3u8'],
    ['１２３４５６', 'index.m3u8'],
  ])('refuses room %j file %j', (room, file) => {
    expect(hlsFilePath(root, room, file)).toBeNull();
  });

  it('room directories and recordings stay under their root', () => {
    expect(hlsRoomDir(root, '000001')).toBe('/srv/hls/000001');
    expect(hlsRoomDir(root, '../123')).toBeNull();
    expect(within(root, '..', 'x')).toBeNull();
    expect(within(root, '')).toBeNull();
    expect(recordingPath('/rec', '123456-20260101T000000Z.mkv')).toBe(
      '/rec/123456-20260101T000000Z.mkv',
    );
    expect(recordingPath('/rec', '123456-20260101T000000Z-2.mkv')).not.toBeNull();
    expect(recordingPath('/rec', '../123456-20260101T000000Z.mkv')).toBeNull();
    expect(recordingPath('/rec', '123456.mkv')).toBeNull();
  });
});

describe('restart policy', () => {
  it('the HLS mirror restarts within 2 s, however often ffmpeg dies', () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelayMs(HLS_RESTART_POLICY, i));
    expect(delays[0]).toBe(250);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
  });

  it('restreams back off exponentially up to 30 s; a long healthy run resets it', () => {
    const tracker = new RestartTracker(RTMP_RETRY_POLICY);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => tracker.failed(100))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(tracker.failed(RTMP_RETRY_POLICY.stableMs)).toBe(1000);
    tracker.reset();
    expect(tracker.failuresInRow).toBe(0);
  });
});

describe('ffmpeg stderr parser', () => {
  it('reads progress blocks (speed, frames) and passes other lines through, across chunk splits', () => {
    const progress: FfmpegProgress[] = [];
    const lines: string[] = [];
    const parser = new FfmpegStderrParser(
      (p) => progress.push(p),
      (l) => lines.push(l),
    );
    parser.push('frame=30\nfps=30.0\nout_time_us=1000000\nspe');
    parser.push(
      'ed=1.01x\nprogress=continue\n[hls @ 0x1] Opening seg-1.ts\nframe=60\r\nspeed=N/A\nprogress=end\n',
    );
    expect(progress).toEqual([
      { frame: 30, fps: 30, speed: 1.01, outTimeUs: 1000000, ended: false },
      { frame: 60, fps: null, speed: null, outTimeUs: null, ended: true },
    ]);
    expect(lines).toEqual(['[hls @ 0x1] Opening seg-1.ts']);
  });

  it('bounds a runaway line', () => {
    const lines: string[] = [];
    const parser = new FfmpegStderrParser(
      () => undefined,
      (l) => lines.push(l),
    );
    parser.push('x'.repeat(100_000));
    parser.push('\n');
    expect(lines[0]?.length).toBeLessThanOrEqual(FfmpegStderrParser.MAX_LINE);
  });
});

describe('HLS viewer counting', () => {
  it('counts distinct recent readers and forgets idle ones', () => {
    let now = 0;
    const counter = new HlsViewerCounter({ now: () => now, windowMs: 10_000 });
    const key = (sid: string | undefined, address: string) => readerKeyOf(sid, address, 'UA') ?? '';
    counter.record('123456', key('abcdefgh12345678', '1.1.1.1'));
    counter.record('123456', key('abcdefgh12345678', '1.1.1.1'));
    counter.record('123456', key(undefined, '2.2.2.2'));
    expect(counter.count('123456')).toBe(2);
    now = 8000;
    counter.record('123456', key(undefined, '2.2.2.2'));
    now = 12_000;
    expect(counter.count('123456')).toBe(1);
    expect(counter.count('654321')).toBe(0);
  });

  it('does not count a room member (already counted by its stats) as an HLS reader', () => {
    expect(readerKeyOf('member_abcdefgh12345678', 'a', 'b')).toBeNull();
  });

  it('ignores malformed sids', () => {
    expect(readerKeyOf('../../x', 'a', 'b')).toBe('a:a|b');
    expect(readerKeyOf(['x'], 'a', 'b')).toBe('a:a|b');
  });
});

describe('relay → Matroska feed', () => {
  const video = (ts: number, key: boolean, config?: RelayFrame['config']): Uint8Array =>
    encodeRelayFrame({
      track: 'video',
      keyframe: key,
      seq: 0,
      timestampUs: ts,
      durationUs: 33_333,
      data: new Uint8Array([0, 0, 0, 1, 0x65]),
      ...(config ? { config } : {}),
    });
  const audio = (ts: number, withConfig = false): Uint8Array =>
    encodeRelayFrame({
      track: 'audio',
      keyframe: true,
      seq: 0,
      timestampUs: ts,
      durationUs: 20_000,
      data: new Uint8Array([0xfc, 0xff, 0xfe]),
      ...(withConfig ? { config: { codec: 'opus', sampleRate: 48000, numberOfChannels: 2 } } : {}),
    });
  const avc = {
    codec: 'avc1.42e01f',
    codedWidth: 640,
    codedHeight: 360,
    description: 'AUIAH//hAAA=',
  };

  function feed(now: { t: number }) {
    const starts: FeedSource[] = [];
    const breaks: string[] = [];
    const f = new RelayMkvFeed({
      id: 'egress:test',
      onData: () => undefined,
      consumerBacklog: () => 0,
      onStart: (s) => starts.push(s),
      onBreak: (r) => breaks.push(r),
      audioWaitMs: 1000,
      now: () => now.t,
    });
    return { f, starts, breaks };
  }

  it('starts at a keyframe with config, with audio once live audio follows it', () => {
    const now = { t: 0 };
    const { f, starts } = feed(now);
    f.send(video(1_000_000, false, undefined));
    expect(starts).toHaveLength(0);
    f.send(video(1_033_000, true, avc));
    f.send(audio(1_040_000, true));
    expect(starts).toEqual([
      { videoCodec: 'avc1.42e01f', width: 640, height: 360, hasAudio: true },
    ]);
    f.cancel();
  });

  it('goes video-only when no audio arrives in time', () => {
    const now = { t: 0 };
    const { f, starts } = feed(now);
    f.send(video(1_000_000, true, avc));
    now.t = 1200;
    f.send(video(1_033_000, false));
    expect(starts[0]?.hasAudio).toBe(false);
    f.cancel();
  });

  it('still starts when keyframes come more often than the audio wait and the audio lags them', () => {
    const now = { t: 0 };
    const { f, starts } = feed(now);
    // Keyframes every 0.6 s (< audioWaitMs 1 s); audio always 0.3 s behind the latest keyframe.
    for (let i = 0; i < 4 && starts.length === 0; i += 1) {
      now.t = i * 600;
      f.send(video(1_000_000 + i * 600_000, true, avc));
      f.send(audio(1_000_000 + i * 600_000 - 300_000, i === 0));
    }
    expect(starts).toHaveLength(1);
    expect(now.t, 'began once the first keyframe had waited audioWaitMs').toBeLessThanOrEqual(1200);
    f.cancel();
  });

  it('reports a break when the video config or the clock changes', () => {
    const now = { t: 0 };
    const a = feed(now);
    a.f.send(video(1_000_000, true, avc));
    a.f.send(audio(1_010_000, true));
    a.f.send(video(2_000_000, true, { ...avc, codedWidth: 1280, codedHeight: 720 }));
    expect(a.breaks).toEqual(['video config changed']);
    const b = feed(now);
    b.f.send(video(5_000_000, true, avc));
    b.f.send(audio(5_010_000, true));
    b.f.send(video(4_000_000, false));
    expect(b.breaks[0]).toMatch(/video clock jumped/);
    a.f.cancel();
    b.f.cancel();
  });

  it('breaks when audio stops, instead of holding video forever', () => {
    const now = { t: 0 };
    const { f, breaks } = feed(now);
    f.send(video(1_000_000, true, avc));
    f.send(audio(1_010_000, true));
    for (let i = 1; i <= 120; i += 1) f.send(video(1_000_000 + i * 33_333, i % 30 === 0));
    expect(breaks).toEqual(['audio stopped']);
    f.cancel();
  });
});
