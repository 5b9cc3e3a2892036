/**
 * Preloaded into the server child (`node --import`): measures the server's own event-loop
 * delay without touching server code. On SIGUSR2 it prints one JSON line to stderr with the
 * delay since the previous SIGUSR2 and starts a fresh window, so the runner can tell server
 * stalls apart from load-generator stalls.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 5;

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

/** The histogram counts whole timer periods; the lag is what exceeds the period. */
const lagMs = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);

process.on('SIGUSR2', () => {
  const probe = {
    loopDelayP50Ms: lagMs(histogram.percentile(50)),
    loopDelayP99Ms: lagMs(histogram.percentile(99)),
    loopDelayMaxMs: lagMs(histogram.max),
  };
  histogram.reset();
  // Starts with PROBE_PREFIX (ipc.ts); inlined so this preload imports nothing.
  process.stderr.write(`${JSON.stringify({ benchProbe: probe })}\n`);
});
