/**
 * Child-process plumbing for the runner: the server under test and the load workers (the
 * shared registry, stopping and /proc readings live in bench/common/processes.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { canConnect, freePort, REPO_ROOT, stopChild, track } from '../common/processes';
import { watchServerStderr, type ServerProbe } from '../common/server-child';
import {
  type ParentToWorker,
  type PhaseName,
  type PhaseResult,
  type SignalResult,
  type TargetName,
  type WorkerToParent,
} from './ipc';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface ServerUnderTest {
  target: TargetName;
  child: ChildProcess;
  pid: number;
  port: number;
  /** Last stderr lines, for error reports. */
  stderrTail: string[];
  /** Event-loop delay of the server since the previous call (see server-probe.ts). */
  probe(timeoutMs?: number): Promise<ServerProbe | null>;
}

export interface StartServerOptions {
  target: TargetName;
  /** Extra node flags for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/**
 * Starts the real roomcast server (`server/index.ts`, LOG_LEVEL=warn) or the PeerJS baseline
 * as a plain `node --import tsx` child, so the pid we measure is the server itself. Ready when
 * it logs `"msg":"listening"` or accepts TCP on the port we chose for it.
 */
export async function startServer(options: StartServerOptions): Promise<ServerUnderTest> {
  const port = await freePort();
  const entry =
    options.target === 'roomcast'
      ? path.join(REPO_ROOT, 'server/index.ts')
      : path.join(HERE, 'peerjs-server.ts');
  const child = track(
    spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        '--import',
        'tsx',
        '--import',
        path.join(HERE, 'exit-on-signal.ts'),
        '--import',
        path.join(HERE, 'server-probe.ts'),
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
          // Room for 10k clients in 1k rooms of 10; the defaults already allow it, this pins it.
          MAX_ROOMS: '100000',
          MAX_VIEWERS_PER_ROOM: '100',
          // Every simulated broadcaster comes from 127.0.0.1: lift the per-IP create limit.
          CREATE_ROOMS_PER_MIN: '1000000',
        },
      },
    ),
  );
  const { stderrTail, probe } = watchServerStderr(child);
  let loggedPort: number | null = null;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('"listening"')) return;
    try {
      const parsed = JSON.parse(line) as { port?: unknown };
      if (typeof parsed.port === 'number') loggedPort = parsed.port;
    } catch {
      // Not JSON; the TCP probe still tells us when it is up.
    }
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.target} server exited during start-up (${child.exitCode ?? child.signalCode}):\n${stderrTail.join('\n')}`,
      );
    }
    if (loggedPort !== null || (await canConnect(port))) {
      return {
        target: options.target,
        child,
        pid: child.pid!,
        port: loggedPort ?? port,
        stderrTail,
        probe,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopChild(child);
  throw new Error(`${options.target} server not ready in time:\n${stderrTail.join('\n')}`);
}

/** A forked load worker with a promise-based phase API. */
export class LoadWorker {
  readonly #child: ChildProcess;
  readonly #waiters = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();
  #failure: Error | null = null;
  readonly #started: Promise<void>;
  #onStarted: () => void = () => {};

  constructor(readonly index: number) {
    this.#started = new Promise<void>((resolve) => (this.#onStarted = resolve));
    this.#child = track(
      fork(path.join(HERE, 'worker.ts'), [], {
        cwd: REPO_ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.#child.on('message', (message: WorkerToParent) => this.#handleMessage(message));
    this.#child.once('exit', (code, signal) => {
      this.#failAll(new Error(`worker ${index} exited (${code ?? signal})`));
    });
  }

  #handleMessage(message: WorkerToParent): void {
    if (message.type === 'started') {
      this.#onStarted();
    } else if (message.type === 'ready') {
      this.#settle('ready', null);
    } else if (message.type === 'phase_done') {
      this.#settle(message.phase, message.result);
    } else if (message.type === 'fatal') {
      this.#failAll(new Error(`worker ${this.index}: ${message.message}`));
    }
  }

  #settle(key: string, value: unknown): void {
    const waiter = this.#waiters.get(key);
    this.#waiters.delete(key);
    waiter?.resolve(value);
  }

  #failAll(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  #await<T>(key: string, timeoutMs: number, message: ParentToWorker): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker ${this.index}: ${key} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.set(key, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.send(message);
    });
  }

  /** Waits for the worker to start listening, then hands it its share of the clients. */
  async init(
    message: Extract<ParentToWorker, { type: 'init' }>,
    timeoutMs = 30_000,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const tooSlow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`worker ${this.index} did not start`)), timeoutMs);
    });
    const exited = new Promise<never>((_, reject) => {
      this.#child.once('exit', () => reject(this.#failure ?? new Error('worker exited')));
    });
    await Promise.race([this.#started, tooSlow, exited]).finally(() => clearTimeout(timer));
    await this.#await('ready', timeoutMs, message);
  }

  phase<T extends PhaseResult | SignalResult>(
    command: Extract<ParentToWorker, { type: 'phase' }>,
    timeoutMs: number,
  ): Promise<T> {
    const key: PhaseName = command.phase;
    return this.#await<T>(key, timeoutMs, command);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    if (this.#child.connected) this.#child.send({ type: 'close' } satisfies ParentToWorker);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
