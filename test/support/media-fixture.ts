import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import type { RelayDecoderConfig, RelayFrame } from '../../shared/index';

export type FixtureVideoCodec = 'h264' | 'vp9';

export interface MediaFixtureOptions {
  video: FixtureVideoCodec;
  seconds: number;
  fps?: number;
  audio?: boolean;
  width?: number;
  height?: number;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * Real encoded media in the relay envelope's terms, as a WebCodecs broadcaster would send it:
 * ffmpeg encodes a test pattern (keyframe every second, like RelayUpstream) and a tone (Opus),
 * mediabunny demuxes it into packets with their decoder configs. Timestamps are in µs on a clock
 * that does not start at zero, as the browser's performance clock does not.
 */
export async function makeRelayFrames(opts: MediaFixtureOptions): Promise<RelayFrame[]> {
  const fps = opts.fps ?? 30;
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-fixture-'));
  const file = join(dir, 'fixture.mkv');
  const videoArgs =
    opts.video === 'h264'
      ? ['-c:v', 'libx264', '-profile:v', 'baseline', '-tune', 'zerolatency', '-bf', '0']
      : ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k'];
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}`,
    ...(opts.audio === false ? [] : ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']),
    '-t',
    String(opts.seconds),
    ...videoArgs,
    '-g',
    String(fps),
    '-keyint_min',
    String(fps),
    '-pix_fmt',
    'yuv420p',
    ...(opts.audio === false ? [] : ['-c:a', 'libopus', '-b:a', '64k', '-ac', '2']),
    '-y',
    file,
  ];
  const result = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ffmpeg fixture failed: ${result.stderr}`);

  const frames: RelayFrame[] = [];
  const input = new Input({ source: new FilePathSource(file), formats: ALL_FORMATS });
  try {
    const offsetUs = 5_000_000; // a performance.now()-like clock, not zero-based
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new Error('fixture has no video');
    const videoConfig = await video.getDecoderConfig();
    if (!videoConfig) throw new Error('fixture video has no decoder config');
    const vConfig: RelayDecoderConfig = {
      codec: videoConfig.codec,
      codedWidth: videoConfig.codedWidth,
      codedHeight: videoConfig.codedHeight,
    };
    if (videoConfig.description) {
      vConfig.description = base64(
        new Uint8Array(
          ArrayBuffer.isView(videoConfig.description)
            ? videoConfig.description.buffer.slice(
                videoConfig.description.byteOffset,
                videoConfig.description.byteOffset + videoConfig.description.byteLength,
              )
            : videoConfig.description,
        ),
      );
    }
    let seq = 0;
    for await (const packet of new EncodedPacketSink(video).packets()) {
      const keyframe = packet.type === 'key';
      frames.push({
        track: 'video',
        keyframe,
        seq: seq++,
        timestampUs: offsetUs + Math.round(packet.timestamp * 1e6),
        durationUs: Math.round(packet.duration * 1e6),
        config: keyframe ? vConfig : undefined,
        data: packet.data,
      });
    }
    const audio = opts.audio === false ? null : await input.getPrimaryAudioTrack();
    if (audio) {
      const audioConfig = await audio.getDecoderConfig();
      if (!audioConfig) throw new Error('fixture audio has no decoder config');
      const aConfig: RelayDecoderConfig = {
        codec: audioConfig.codec,
        sampleRate: audioConfig.sampleRate,
        numberOfChannels: audioConfig.numberOfChannels,
      };
      let aseq = 0;
      for await (const packet of new EncodedPacketSink(audio).packets()) {
        frames.push({
          track: 'audio',
          keyframe: true,
          seq: aseq,
          timestampUs: offsetUs + Math.round(packet.timestamp * 1e6),
          durationUs: Math.round(packet.duration * 1e6),
          // The upstream repeats the audio config now and then; once a second here.
          config: aseq % 50 === 0 ? aConfig : undefined,
          data: packet.data,
        });
        aseq += 1;
      }
    }
  } finally {
    input.dispose?.();
    rmSync(dir, { recursive: true, force: true });
  }
  // Arrival order: by timestamp, as the encoders emit them.
  frames.sort((a, b) => a.timestampUs - b.timestampUs);
  return frames;
}
