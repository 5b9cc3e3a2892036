/**
 * The stderr side of a server child that preloads bench/signalling/server-probe.ts: the last
 * stderr lines for error reports, and its event-loop delay on demand (SIGUSR2).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROBE_PREFIX } from '../signalling/ipc';

const STDERR_TAIL_LINES = 20;

/** Event-loop delay of the server since the previous probe (see server-probe.ts). */
export interface ServerProbe {
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ServerStderr {
  /** Last stderr lines (probe readings excluded), for error reports. */
  stderrTail: string[];
  /** Adds a line to stderrTail, keeping only the last few. */
  remember(line: string): void;
  /** Asks the server for its event-loop delay; null on timeout or once it is gone. */
  probe(timeoutMs?: number): Promise<ServerProbe | null>;
}

export function watchServerStderr(child: ChildProcess): ServerStderr {
  const stderrTail: string[] = [];
  const remember = (line: string) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  };
  let onProbe: ((probe: ServerProbe) => void) | null = null;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!line.startsWith(PROBE_PREFIX)) return remember(line);
    try {
      onProbe?.((JSON.parse(line) as { benchProbe: ServerProbe }).benchProbe);
    } catch {
      // A torn line: the caller's timeout covers it.
    }
  });
  const probe = (timeoutMs = 2000) =>
    new Promise<ServerProbe | null>((resolve) => {
      const timer = setTimeout(() => {
        onProbe = null;
        resolve(null);
      }, timeoutMs);
      onProbe = (value) => {
        clearTimeout(timer);
        onProbe = null;
        resolve(value);
      };
      if (!child.kill('SIGUSR2')) {
        clearTimeout(timer);
        resolve(null);
      }
    });
  return { stderrTail, remember, probe };
}
