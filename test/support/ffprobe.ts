import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The codecs (sorted) and duration ffprobe finds in a file or URL (a playlist, an FLV). */
export async function ffprobeStreams(
  target: string,
): Promise<{ codecs: string[]; duration: number }> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', target],
    { timeout: 30_000 },
  );
  const json = JSON.parse(stdout) as {
    streams: { codec_name: string }[];
    format?: { duration?: string };
  };
  return {
    codecs: json.streams.map((s) => s.codec_name).sort(),
    duration: Number(json.format?.duration ?? 0),
  };
}
