import { encodeRelayFrame, type RelayFrame } from '../../shared/index';

export interface PacedPublisher {
  stop(): void;
  /** Frames sent so far. */
  readonly sent: number;
}

/**
 * Sends fixture frames in real time, looping with continuous timestamps, as a broadcaster's
 * relay upstream would. `send` gets the enveloped bytes (e.g. socket.emit('relay_chunk', …)).
 */
export function publishPaced(
  frames: readonly RelayFrame[],
  send: (bytes: Uint8Array) => void,
): PacedPublisher {
  const first = frames[0];
  const last = frames.at(-1);
  if (!first || !last) throw new Error('no frames');
  const loopUs = last.timestampUs - first.timestampUs + 33_333;
  const startedAt = performance.now();
  let index = 0;
  let loop = 0;
  let sent = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const elapsedUs = (performance.now() - startedAt) * 1000;
    for (;;) {
      const frame = frames[index];
      if (!frame) break;
      const dueUs = frame.timestampUs - first.timestampUs + loop * loopUs;
      if (dueUs > elapsedUs) break;
      send(encodeRelayFrame({ ...frame, timestampUs: frame.timestampUs + loop * loopUs }));
      sent += 1;
      index += 1;
      if (index >= frames.length) {
        index = 0;
        loop += 1;
      }
    }
  };
  const timer = setInterval(tick, 10);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    get sent() {
      return sent;
    },
  };
}
