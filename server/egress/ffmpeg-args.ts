/**
 * ffmpeg command lines for egress. Every value here comes from server config or from the
 * server's own validated state (the 6-digit room code, the source's codec); nothing is taken
 * from a client string. The process is spawned without a shell, so these are argv entries.
 */

export type VideoMode = 'copy' | 'transcode';

export interface VideoPlan {
  mode: VideoMode;
  /** Transcode only: the target bitrate and the keyframe interval (s, = the HLS segment). */
  bitrateKbps: number;
  keyframeSeconds: number;
}

export interface HlsOutput {
  kind: 'hls';
  /** Absolute room directory, already validated and prefix-checked. */
  dir: string;
  segmentSeconds: number;
  listSize: number;
  /** A restart after a crash: keep the playlist and mark a discontinuity. */
  append: boolean;
}

export interface RtmpOutput {
  kind: 'rtmp';
  /** From RTMP_TARGETS only. */
  url: string;
}

export type EgressOutputSpec = HlsOutput | RtmpOutput;

/** Only H.264 can be copied into both HLS (MPEG-TS) and FLV. */
export function videoModeFor(webCodecsCodec: string): VideoMode {
  return webCodecsCodec.startsWith('avc1') || webCodecsCodec.startsWith('avc3')
    ? 'copy'
    : 'transcode';
}

function videoArgs(plan: VideoPlan): string[] {
  if (plan.mode === 'copy') return ['-c:v', 'copy'];
  const kbps = Math.max(200, Math.round(plan.bitrateKbps));
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    `${kbps}k`,
    '-maxrate',
    `${kbps}k`,
    '-bufsize',
    `${kbps * 2}k`,
    // A keyframe exactly every segment, whatever the frame rate, and none in between.
    '-force_key_frames',
    `expr:gte(t,n_forced*${plan.keyframeSeconds})`,
    '-sc_threshold',
    '0',
  ];
}

function audioArgs(hasAudio: boolean, sampleRate: number): string[] {
  if (!hasAudio) return [];
  return ['-c:a', 'aac', '-b:a', '128k', '-ar', String(sampleRate), '-ac', '2'];
}

/** The whole argv (without the binary) for one output fed Matroska on stdin. */
export function buildFfmpegArgs(opts: {
  output: EgressOutputSpec;
  video: VideoPlan;
  hasAudio: boolean;
}): string[] {
  const { output, video, hasAudio } = opts;
  const input = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    // Machine-readable progress (speed, frames) on stderr once a second.
    '-nostats',
    '-progress',
    'pipe:2',
    '-stats_period',
    '1',
    '-protocol_whitelist',
    'pipe',
    // Not `-fflags nobuffer`: it drops packets read while probing (VP9 then lacks references).
    '-flags',
    'low_delay',
    '-probesize',
    '65536',
    '-analyzeduration',
    '0',
    '-f',
    'matroska',
    '-i',
    'pipe:0',
    '-map',
    '0:v:0',
    ...(hasAudio ? ['-map', '0:a:0'] : []),
    ...videoArgs(video),
  ];
  if (output.kind === 'hls') {
    const flags = ['delete_segments', 'independent_segments', 'program_date_time', 'temp_file'];
    if (output.append) flags.push('append_list');
    return [
      ...input,
      ...audioArgs(hasAudio, 48000),
      '-f',
      'hls',
      '-hls_time',
      String(output.segmentSeconds),
      '-hls_list_size',
      String(output.listSize),
      '-hls_delete_threshold',
      '2',
      '-hls_flags',
      flags.join('+'),
      '-hls_segment_type',
      'mpegts',
      '-hls_segment_filename',
      `${output.dir}/seg-%d.ts`,
      '-protocol_whitelist',
      'file',
      `${output.dir}/index.m3u8`,
    ];
  }
  return [
    ...input,
    ...audioArgs(hasAudio, 44100),
    '-f',
    'flv',
    '-flvflags',
    'no_duration_filesize',
    '-protocol_whitelist',
    'rtmp,rtmps,tcp,tls',
    output.url,
  ];
}
