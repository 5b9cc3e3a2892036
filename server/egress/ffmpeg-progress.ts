/** ffmpeg `-progress pipe:2` blocks: `key=value` lines ending with `progress=continue|end`. */
export interface FfmpegProgress {
  frame: number | null;
  fps: number | null;
  /** 1 = real time; below ~0.9 for long means ffmpeg can't keep up. */
  speed: number | null;
  outTimeUs: number | null;
  ended: boolean;
}

/**
 * Splits ffmpeg's stderr into progress blocks and other lines (warnings, errors). Holds at most
 * one partial line, bounded, so a runaway line can't grow memory.
 */
export class FfmpegStderrParser {
  static readonly MAX_LINE = 4096;
  #partial = '';
  #block: Record<string, string> = {};
  readonly #onProgress: (p: FfmpegProgress) => void;
  readonly #onLine: (line: string) => void;

  constructor(onProgress: (p: FfmpegProgress) => void, onLine: (line: string) => void) {
    this.#onProgress = onProgress;
    this.#onLine = onLine;
  }

  push(text: string): void {
    const lines = (this.#partial + text).split(/\r?\n|\r/);
    this.#partial = (lines.pop() ?? '').slice(0, FfmpegStderrParser.MAX_LINE);
    for (const line of lines) this.#line(line);
  }

  #line(raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([a-z_0-9]+)=\s*(\S*)$/.exec(line);
    if (!m) {
      this.#onLine(line.slice(0, FfmpegStderrParser.MAX_LINE));
      return;
    }
    const [, key = '', value = ''] = m;
    this.#block[key] = value;
    if (key === 'progress') {
      this.#onProgress(parseProgressBlock(this.#block));
      this.#block = {};
    }
    // Bounded: ffmpeg sends ~12 keys per block.
    if (Object.keys(this.#block).length > 64) this.#block = {};
  }
}

const num = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : null;
};

export function parseProgressBlock(block: Record<string, string>): FfmpegProgress {
  return {
    frame: num(block.frame),
    fps: num(block.fps),
    speed: num(block.speed?.replace(/x$/, '')),
    outTimeUs: num(block.out_time_us ?? block.out_time_ms),
    ended: block.progress === 'end',
  };
}
