import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';

/**
 * Starts the real `redis-server` on a free 127.0.0.1 port, without persistence, for vitest and
 * Playwright alike. One instance per test file: start it in beforeAll, stop it in afterAll.
 */
export interface RedisServer {
  url: string;
  port: number;
  /** SIGTERM, wait for the exit, remove the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
const START_ATTEMPTS = 3;
const MAX_LOG_CHARS = 64_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** One raw PING over RESP; true on `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export interface RedisServerOptions {
  /** A fixed port (to restart a stopped server where its clients reconnect); no retry then. */
  port?: number;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  let lastLog = '';
  const attempts = options.port === undefined ? START_ATTEMPTS : 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-redis-'));
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > MAX_LOG_CHARS) output = output.slice(-MAX_LOG_CHARS / 2);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    // A crashed test runner must not leave redis-server behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const gone = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });

    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (!exited(child) && spawnError === undefined) {
          child.kill('SIGTERM');
          const timedOut = await Promise.race([
            gone.then(() => false),
            sleep(STOP_TIMEOUT_MS).then(() => true),
          ]);
          if (timedOut && !exited(child)) {
            child.kill('SIGKILL');
            await gone;
          }
        }
        process.off('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
      })());

    // Ready: redis-server itself said so (a PING alone could reach whoever else holds the
    // port) and it answers PING.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (Date.now() < deadline) {
      if (spawnError !== undefined || exited(child)) break;
      if (output.includes('Ready to accept connections') && (await ping(port))) {
        ready = true;
        break;
      }
      await sleep(50);
    }
    if (ready) return { url: `redis://127.0.0.1:${port}`, port, stop };

    const exitedEarly = exited(child);
    const exitCode = child.exitCode;
    await stop();
    lastLog = output;
    if (spawnError !== undefined)
      throw new Error(`cannot start ${REDIS_SERVER}: ${spawnError.message}`);
    // Someone took the port between freePort() and the bind: try another one.
    if (/address already in use/i.test(output)) continue;
    const why = exitedEarly ? `exited (code ${exitCode})` : 'did not answer PING in time';
    throw new Error(`redis-server ${why} on port ${port}:\n${output}`);
  }
  throw new Error(`redis-server could not bind a port in ${attempts} attempt(s):\n${lastLog}`);
}
