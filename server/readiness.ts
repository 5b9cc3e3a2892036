import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';

/** `off`: not configured. `down`: configured but not working. */
export type CheckStatus = 'ok' | 'off' | 'down';

export interface CheckResult {
  status: CheckStatus;
  detail?: string;
}

export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export interface CheckOptions {
  /** A `down` critical check makes the whole process not ready (e.g. Redis when configured). */
  critical?: boolean;
}

export interface ReadinessReport {
  ready: boolean;
  listening: boolean;
  shuttingDown: boolean;
  checks: Record<string, CheckResult & { critical: boolean }>;
}

/** A check that hangs must not hang /readyz. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * What /readyz reports. The app marks itself listening and shutting down; subsystems (egress,
 * Redis, coturn) register named checks. Registering a name again replaces the check, so egress
 * can swap the default ffmpeg probe for its own.
 */
export class Readiness {
  #listening = false;
  #shuttingDown = false;
  readonly #checks = new Map<string, { check: ReadinessCheck; critical: boolean }>();

  register(name: string, check: ReadinessCheck, options: CheckOptions = {}): void {
    this.#checks.set(name, { check, critical: options.critical ?? false });
  }

  /** Registers only when nothing is registered under `name` yet (defaults a subsystem may own). */
  registerDefault(name: string, check: ReadinessCheck, options: CheckOptions = {}): void {
    if (!this.#checks.has(name)) this.register(name, check, options);
  }

  markListening(): void {
    this.#listening = true;
  }

  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, { check, critical }]) => {
        const result = await runCheck(check);
        return [name, { ...result, critical }] as const;
      }),
    );
    const checks = Object.fromEntries(entries);
    const criticalDown = entries.some(([, r]) => r.critical && r.status === 'down');
    return {
      ready: this.#listening && !this.#shuttingDown && !criticalDown,
      listening: this.#listening,
      shuttingDown: this.#shuttingDown,
      checks,
    };
  }
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'down', detail: 'check timed out' }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (err) {
    return { status: 'down', detail: err instanceof Error ? err.message : 'check failed' };
  } finally {
    clearTimeout(timer);
  }
}

/** Remembers a check's last result for `ttlMs`, and runs at most one probe at a time. */
export function cached(check: ReadinessCheck, ttlMs: number, now = Date.now): ReadinessCheck {
  let last: { at: number; result: CheckResult } | undefined;
  let inFlight: Promise<CheckResult> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return last.result;
    inFlight ??= runCheck(check).then((result) => {
      last = { at: now(), result };
      inFlight = undefined;
      return result;
    });
    return inFlight;
  };
}

/** `name` as an executable on PATH (or an absolute path). */
export function findExecutable(name: string, envPath = process.env.PATH ?? ''): string | null {
  const candidates = path.isAbsolute(name)
    ? [name]
    : envPath
        .split(path.delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The default ffmpeg check: found on PATH or not. Egress replaces it with its own state. */
export function executableCheck(name: string): ReadinessCheck {
  return () => {
    const found = findExecutable(name);
    return found
      ? { status: 'ok', detail: found }
      : { status: 'down', detail: `${name} not found` };
  };
}

export interface TurnTarget {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

/** The first TURN URL as host, port and transport (`turns:` is TLS over TCP, default 5349). */
export function turnTarget(urls: readonly string[]): TurnTarget | null {
  const url = urls[0];
  if (url === undefined) return null;
  const match = /^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?/i.exec(url);
  if (!match) return null;
  const secure = match[1]!.toLowerCase() === 'turns';
  const host = match[2]!.replace(/^\[|\]$/g, '');
  const port = match[3] ? Number(match[3]) : secure ? 5349 : 3478;
  const transport = secure || match[4]?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
  return { host, port, transport };
}

const STUN_BINDING_REQUEST = 0x0001;
const STUN_BINDING_SUCCESS = 0x0101;
const STUN_MAGIC_COOKIE = 0x2112a442;

/**
 * Is coturn there? UDP: a STUN Binding request (coturn answers it without credentials); TCP:
 * a plain connect. Never sends credentials.
 */
export function probeTurn(target: TurnTarget, timeoutMs = 1000): Promise<CheckResult> {
  const where = `${target.transport}://${target.host}:${target.port}`;
  return new Promise((resolve) => {
    if (target.transport === 'tcp') {
      const socket = connect({ host: target.host, port: target.port });
      const done = (result: CheckResult) => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(timeoutMs, () => done({ status: 'down', detail: `${where}: timed out` }));
      socket.once('connect', () => done({ status: 'ok', detail: where }));
      socket.once('error', (err) => done({ status: 'down', detail: `${where}: ${err.message}` }));
      return;
    }
    const family = target.host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket(family);
    const transactionId = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(STUN_BINDING_REQUEST, 0);
    request.writeUInt16BE(0, 2);
    request.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
    transactionId.copy(request, 8);
    const timer = setTimeout(
      () => done({ status: 'down', detail: `${where}: no STUN answer` }),
      timeoutMs,
    );
    let finished = false;
    function done(result: CheckResult) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    }
    socket.on('message', (msg) => {
      if (msg.length < 20 || !msg.subarray(8, 20).equals(transactionId)) return;
      const ok = msg.readUInt16BE(0) === STUN_BINDING_SUCCESS;
      done(
        ok ? { status: 'ok', detail: where } : { status: 'down', detail: `${where}: STUN error` },
      );
    });
    socket.once('error', (err) => done({ status: 'down', detail: `${where}: ${err.message}` }));
    socket.send(request, target.port, target.host);
  });
}

/** The coturn check: `off` without TURN, else a probe cached for `ttlMs`. */
export function turnCheck(
  urls: readonly string[],
  enabled: boolean,
  ttlMs = 10_000,
): ReadinessCheck {
  const target = enabled ? turnTarget(urls) : null;
  if (!target) return () => ({ status: 'off', detail: 'TURN not configured' });
  return cached(() => probeTurn(target), ttlMs);
}
