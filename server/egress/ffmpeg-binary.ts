import { spawnSync } from 'node:child_process';

export type FfmpegProbe =
  | { available: true; path: string; version: string }
  | { available: false; path: string; reason: string };

/**
 * Runs `ffmpeg -version` once at start (no shell). A missing or broken binary turns egress off
 * with a reason the UI, the logs and /healthz can show; it never stops the server.
 */
export function probeFfmpeg(path: string): FfmpegProbe {
  const result = spawnSync(path, ['-hide_banner', '-version'], {
    encoding: 'utf8',
    timeout: 5000,
    windowsHide: true,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'ffmpeg is not installed on the server'
        : `ffmpeg cannot run (${code ?? 'error'})`;
    return { available: false, path, reason };
  }
  if (result.status !== 0) {
    return { available: false, path, reason: `ffmpeg -version exited ${result.status}` };
  }
  const version = /ffmpeg version (\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
  return { available: true, path, version };
}
