import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Starts the real coturn (`turnserver -c turn/turnserver.test.conf`) on free ports, for vitest
 * and Playwright alike. One instance per test file: start it in beforeAll, stop it in afterAll.
 */
export interface CoturnOptions {
  /** coturn `static-auth-secret`; a random one by default. */
  secret?: string;
  /** Address the URLs point at; 127.0.0.1 by default. Another IP gets a listener as well. */
  listenIp?: string;
  /** More turnserver arguments (for example `--no-udp`). */
  extraArgs?: string[];
  /**
   * Another config file instead of turn/turnserver.test.conf; the coturn tests use it to check
   * the production template (add `--listening-ip 127.0.0.1 --relay-ip 127.0.0.1 -v`).
   */
  configFile?: string;
}

export interface Coturn {
  port: number;
  /** `turn:IP:PORT?transport=udp` and `turn:IP:PORT?transport=tcp`. */
  urls: string[];
  secret: string;
  /** Everything coturn printed so far (bounded: the most recent output). */
  logs(): string;
  /** Usernames coturn granted an allocation to (parsed from its verbose log). */
  acceptedUsers(): string[];
  stop(): Promise<void>;
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const COTURN_TEST_CONF = path.join(repoRoot, 'turn', 'turnserver.test.conf');

/** Path of the turnserver binary: TURNSERVER_PATH, or the first `turnserver` on PATH. */
export function turnserverPath(): string | null {
  const fromEnv = process.env.TURNSERVER_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'turnserver');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Last this many characters of coturn output are kept. */
const MAX_LOG_CHARS = 4_000_000;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
const START_ATTEMPTS = 3;
/** Relay ports per instance: a handful of allocations per test is plenty. */
const RELAY_RANGE_SIZE = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tcpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

async function portFree(host: string, port: number): Promise<boolean> {
  return (await tcpPortFree(host, port)) && (await udpPortFree(host, port));
}

/** A listening port free on TCP and UDP on every host given. */
async function freeListeningPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 8_900);
    let free = true;
    for (const host of hosts) free = free && (await portFree(host, port));
    if (free) return port;
  }
  throw new Error('no free port for coturn');
}

/** A random relay range in 29000–32767, below Linux's ephemeral range, so clients rarely take it. */
async function freeRelayRange(): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const min = 29_000 + Math.floor(Math.random() * (3_768 - RELAY_RANGE_SIZE));
    const max = min + RELAY_RANGE_SIZE - 1;
    // Spot-check the ends and the middle; coturn skips any port it cannot bind.
    const probes = [min, Math.floor((min + max) / 2), max];
    let free = true;
    for (const port of probes) free = free && (await udpPortFree('127.0.0.1', port));
    if (free) return { min, max };
  }
  throw new Error('no free relay port range for coturn');
}

function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

interface Launched {
  child: ChildProcess;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

function launch(binary: string, args: string[], port: number, stateDir: string): Launched {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > MAX_LOG_CHARS) output = output.slice(-MAX_LOG_CHARS / 2);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // A crashed test runner must not leave coturn behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (!exited(child)) {
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
    rmSync(stateDir, { recursive: true, force: true });
  };
  return { child, port, output: () => output, stop };
}

type Readiness = 'ready' | 'port_taken' | 'exited' | 'timeout';

/**
 * Ready means coturn itself opened UDP and TCP listeners on every address (its verbose log says
 * so) and the TCP port accepts. The log check matters: when another process holds the port,
 * coturn keeps retrying the bind, and a bare TCP probe would reach the other process.
 */
async function waitReady(launched: Launched, hosts: string[]): Promise<Readiness> {
  const { child, port, output } = launched;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited(child)) return 'exited';
    const log = output();
    if (/Cannot bind/.test(log)) return 'port_taken';
    const opened = hosts.every(
      (host) =>
        log.includes(`UDP listener opened on: ${host}:${port}`) &&
        log.includes(`TCP listener opened on : ${host}:${port}`),
    );
    if (opened && (await tcpAccepts(hosts[hosts.length - 1]!, port))) return 'ready';
    if (Date.now() > deadline) return 'timeout';
    await sleep(50);
  }
}

/**
 * Starts coturn and resolves once it listens. Runs with `--verbose` (the listener and ALLOCATE
 * lines are needed for readiness and `acceptedUsers`); it never logs the secret.
 */
export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  const binary = turnserverPath();
  if (binary === null) throw new Error('turnserver (coturn) is not installed');
  const listenIp = opts.listenIp ?? '127.0.0.1';
  const secret = opts.secret ?? randomBytes(24).toString('hex');
  const hosts = listenIp === '127.0.0.1' ? ['127.0.0.1'] : ['127.0.0.1', listenIp];

  let lastLog = '';
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freeListeningPort(hosts);
    const relay = await freeRelayRange();
    const stateDir = mkdtempSync(path.join(tmpdir(), 'roomcast-coturn-'));
    const args = [
      '-c',
      opts.configFile ?? COTURN_TEST_CONF,
      '--verbose',
      '--listening-port',
      String(port),
      '--min-port',
      String(relay.min),
      '--max-port',
      String(relay.max),
      '--static-auth-secret',
      secret,
      '--pidfile',
      path.join(stateDir, 'turnserver.pid'),
      '--userdb',
      path.join(stateDir, 'turndb'),
      ...(listenIp === '127.0.0.1' ? [] : ['--listening-ip', listenIp]),
      ...(opts.extraArgs ?? []),
    ];
    const launched = launch(binary, args, port, stateDir);
    const readiness = await waitReady(launched, hosts);
    if (readiness === 'ready') {
      return {
        port,
        urls: [`turn:${listenIp}:${port}?transport=udp`, `turn:${listenIp}:${port}?transport=tcp`],
        secret,
        logs: launched.output,
        acceptedUsers: () => acceptedUsers(launched.output()),
        stop: launched.stop,
      };
    }
    await launched.stop();
    lastLog = launched.output();
    // Someone took the port between the check and coturn's bind: try other ports.
    if (readiness === 'port_taken') continue;
    const why = readiness === 'exited' ? `exited (code ${launched.child.exitCode})` : 'timed out';
    throw new Error(`coturn ${why} during start-up on ${listenIp}:${port}:\n${lastLog}`);
  }
  throw new Error(`coturn could not bind a free port in ${START_ATTEMPTS} attempts:\n${lastLog}`);
}

/** Usernames in `ALLOCATE processed, success` lines of coturn's verbose log. */
export function acceptedUsers(log: string): string[] {
  const users = new Set<string>();
  for (const match of log.matchAll(
    /user <([^>]+)>: incoming packet ALLOCATE processed, success/g,
  )) {
    if (match[1] !== undefined) users.add(match[1]);
  }
  return [...users];
}
