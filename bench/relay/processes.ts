/** Child processes of the relay benchmark: the server under test and the worker processes. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort, REPO_ROOT, stopChild, track } from '../common/processes';
import { watchServerStderr, type ServerProbe } from '../common/server-child';
import type { RelayParentToWorker, RelayTarget, RelayWorkerToParent } from './ipc';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface RelayServer {
  target: RelayTarget;
  child: ChildProcess;
  pid: number;
  /** What the clients connect to. */
  url: string;
  stderrTail: string[];
  /** The server's event-loop delay since the previous call (bench/signalling/server-probe.ts). */
  probe(timeoutMs?: number): Promise<ServerProbe | null>;
  stop(): Promise<void>;
}

/**
 * roomcast: the real server (`server/index.ts`, LOG_LEVEL=warn) with room for every viewer in
 * one room; raw-ws: raw-ws-server.ts. Both as plain `node --import tsx` children so the pid we
 * measure is the server itself.
 */
export async function startRelayServer(
  target: RelayTarget,
  extraEnv: Record<string, string> = {},
  readyTimeoutMs = 30_000,
): Promise<RelayServer> {
  const port = await freePort();
  const entry =
    target === 'roomcast'
      ? path.join(REPO_ROOT, 'server/index.ts')
      : path.join(HERE, 'raw-ws-server.ts');
  const child = track(
    spawn(
      process.execPath,
      // server-probe.ts reports the server's own event-loop delay on SIGUSR2 (no server change).
      [
        '--import',
        'tsx',
        '--import',
        path.join(REPO_ROOT, 'bench/signalling/server-probe.ts'),
        entry,
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          NODE_ENV: 'production',
          MAX_VIEWERS_PER_ROOM: '10000',
          RELAY_ENABLED: 'true',
          WEBRTC_UDP_PORT: '0',
          ...extraEnv,
        },
      },
    ),
  );
  const { stderrTail, remember, probe } = watchServerStderr(child);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${target} server not ready in ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"listening"')) {
        clearTimeout(timer);
        resolve();
      } else if (line.includes('"level":40') || line.includes('"level":50')) {
        remember(line);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      setTimeout(
        () =>
          reject(
            new Error(`${target} server exited (${code ?? signal}):\n${stderrTail.join('\n')}`),
          ),
        100,
      );
    });
  });
  // LOG_LEVEL=warn hides roomcast's "listening" line: accepting TCP also means ready.
  let polling = true;
  const accepting = (async () => {
    while (polling) {
      if (await canConnect(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await Promise.race([ready, accepting])
    .finally(() => {
      polling = false;
    })
    .catch(async (error: unknown) => {
      await stopChild(child, 2000);
      throw error;
    });
  ready.catch(() => {});
  return {
    target,
    child,
    pid: child.pid!,
    url: target === 'roomcast' ? `http://127.0.0.1:${port}` : `ws://127.0.0.1:${port}`,
    stderrTail,
    probe,
    stop: () => stopChild(child, 5000),
  };
}

type Reply<K extends RelayWorkerToParent['type']> = Extract<RelayWorkerToParent, { type: K }>;

/** One forked worker.ts with a request/reply helper keyed by the reply's type. */
export class RelayWorker {
  readonly #child: ChildProcess;
  readonly #waiters = new Map<string, (message: RelayWorkerToParent) => void>();
  #failure: Error | null = null;
  readonly #started: Promise<void>;

  constructor(readonly name: string) {
    this.#child = track(
      fork(path.join(HERE, 'worker.ts'), [], {
        cwd: REPO_ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.#started = new Promise<void>((resolve) => this.#waiters.set('started', () => resolve()));
    this.#child.on('message', (message: RelayWorkerToParent) => {
      if (message.type === 'fatal') {
        this.#fail(new Error(`${name}: ${message.message}`));
        return;
      }
      const waiter = this.#waiters.get(message.type);
      this.#waiters.delete(message.type);
      waiter?.(message);
    });
    this.#child.once('exit', (code, signal) => {
      this.#fail(new Error(`${name} exited (${code ?? signal})`));
    });
  }

  #rejecters = new Set<(error: Error) => void>();

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const reject of this.#rejecters) reject(error);
    this.#rejecters.clear();
  }

  async request<K extends RelayWorkerToParent['type']>(
    message: RelayParentToWorker,
    reply: K,
    timeoutMs: number,
  ): Promise<Reply<K>> {
    await this.#started;
    if (this.#failure) throw this.#failure;
    return new Promise<Reply<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(reply);
        this.#rejecters.delete(rejecter);
        reject(new Error(`${this.name}: no ${reply} within ${timeoutMs} ms`));
      }, timeoutMs);
      const rejecter = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      this.#rejecters.add(rejecter);
      this.#waiters.set(reply, (message) => {
        clearTimeout(timer);
        this.#rejecters.delete(rejecter);
        resolve(message as Reply<K>);
      });
      this.#child.send(message);
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    if (this.#child.connected) this.#child.send({ type: 'close' } satisfies RelayParentToWorker);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
