import { describe, expect, it } from 'vitest';
import {
  encoderEmitsPromptly,
  type ProbeEncoder,
  type ProbeFrames,
} from '../../client/src/lib/relay/encoder-probe';

/** An encoder that emits one output per input once it holds `lookahead` frames (like x264). */
function fakeEncoder(lookahead: number, delayMs = 1) {
  const closed = { value: false };
  const open = (onOutput: () => void): ProbeEncoder => {
    let held = 0;
    return {
      encode() {
        held += 1;
        if (held > lookahead) setTimeout(onOutput, delayMs);
      },
      close() {
        closed.value = true;
      },
    };
  };
  return { open, closed };
}

const frames: ProbeFrames = {
  make: () => ({ close() {} }) as unknown as VideoFrame,
};
const FAST = { frames: 4, frameIntervalMs: 1, waitMs: 50 };

describe('relay encoder probe: real-time encoders only', () => {
  it('accepts an encoder that emits each frame soon after it goes in (Chromium, Firefox VP8)', async () => {
    const encoder = fakeEncoder(0);
    expect(await encoderEmitsPromptly(encoder.open, frames, FAST)).toBe(true);
    expect(encoder.closed.value).toBe(true);
  });

  it('accepts a slow but real-time encoder (output arrives while we wait)', async () => {
    const encoder = fakeEncoder(0, 30);
    expect(await encoderEmitsPromptly(encoder.open, frames, FAST)).toBe(true);
  });

  it("rejects one that holds frames however long we wait (Firefox 153's H.264: ~40)", async () => {
    const encoder = fakeEncoder(40);
    expect(await encoderEmitsPromptly(encoder.open, frames, FAST)).toBe(false);
    expect(encoder.closed.value).toBe(true);
  });

  it('rejects an encoder that fails or cannot be opened', async () => {
    const failing = (_onOutput: () => void, onError: () => void): ProbeEncoder => ({
      encode: () => onError(),
      close() {},
    });
    expect(await encoderEmitsPromptly(failing, frames, FAST)).toBe(false);
    const throwing = (): ProbeEncoder => {
      throw new Error('configure refused');
    };
    expect(await encoderEmitsPromptly(throwing, frames, FAST)).toBe(false);
  });
});
