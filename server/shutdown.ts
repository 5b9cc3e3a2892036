import type { App } from './app';
import type { Logger } from './logger';

/** The promise: the process is gone within 10 s of SIGTERM, whatever hangs. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface ShutdownDeps {
  server: Pick<App, 'close' | 'readiness'>;
  logger: Logger;
  deadlineMs?: number;
  exit?: (code: number) => void;
}

/**
 * Graceful stop: /readyz turns 503 at once (load balancers stop sending work), then app.close()
 * ends every room with `room_closed {reason: "server_shutdown"}`, stops egress and closes the
 * sockets and the listener. Exit 0 when that finishes, 1 when it fails or the deadline passes.
 * A second signal exits at once.
 */
export function createShutdown(deps: ShutdownDeps): (signal: string) => void {
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  const deadlineMs = deps.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
  const log = deps.logger;
  let stopping = false;
  return (signal) => {
    if (stopping) {
      log.warn({ signal }, 'second signal during shutdown: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    log.info({ signal, deadlineMs }, 'shutting down');
    deps.server.readiness.markShuttingDown();
    const deadline = setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown deadline passed: exiting');
      exit(1);
    }, deadlineMs);
    // Never the reason the process stays alive; it only has to fire if something else does.
    deadline.unref();
    deps.server.close().then(
      () => {
        clearTimeout(deadline);
        log.info({ ms: Date.now() - startedAt }, 'stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
}

/** SIGTERM (systemd, docker, Kubernetes) and SIGINT (Ctrl-C) both stop gracefully. */
export function handleStopSignals(shutdown: (signal: string) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => shutdown(signal));
  }
}
