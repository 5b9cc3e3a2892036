/**
 * `npm run bench:signalling [-- --clients 1000,5000,10000 | --quick]`
 *
 * Signalling load: the real roomcast server (server/index.ts, its own process) against the
 * PeerJS server baseline, with the same simulated clients and message pattern, in one run.
 * Writes bench/results/signalling-<time>.json and its section of BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  boxLoad1m,
  readCpuMs,
  readNoFileLimit,
  readRssBytes,
  REPO_ROOT,
  stopChild,
} from '../common/processes';
import { machineInfo } from '../common/report';
import {
  commandLine,
  reportDate,
  RESULTS_DIR,
  runMain,
  sleep,
  startDeadline,
  writeResults,
} from '../common/run';
import { summarizeProfile } from './cpu-profile';
import { LatencyHistogram } from './histogram';
import type { PhaseResult, SignalResult, TargetName } from './ipc';
import { LoadWorker, startServer } from './processes';
import {
  renderSection,
  SIGNALLING_SECTION,
  type BenchReport,
  type BenchSettings,
  type PhaseSummary,
  type TargetRun,
} from './report';

const VIEWERS_PER_ROOM = 9;
const CLIENTS_PER_ROOM = 1 + VIEWERS_PER_ROOM;
const PROFILE_DIR = path.join(RESULTS_DIR, 'profiles');
const RSS_SAMPLE_MS = 250;
/** Per-process descriptors beyond the sockets themselves (modules, pipes, epoll, …). */
const FD_HEADROOM = 512;

interface Options extends Omit<BenchSettings, 'command'> {
  targets: TargetName[];
  profileAt: number | null;
  requestTimeoutMs: number;
  maxMinutes: number;
  write: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      quick: { type: 'boolean', default: false },
      workers: { type: 'string', default: '2' },
      duration: { type: 'string' },
      interval: { type: 'string' },
      drain: { type: 'string', default: '3' },
      rate: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '64' },
      targets: { type: 'string', default: 'roomcast,peerjs' },
      profile: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'max-minutes': { type: 'string', default: '30' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx bench/signalling/run.ts [--clients 1000,5000,10000 | --quick] [--workers 2]\n' +
        '  [--duration 30] [--interval 20] [--drain 3] [--rate 500] [--concurrency 64]\n' +
        '  [--targets roomcast,peerjs] [--repeat 1]\n' +
        '  [--profile <clients>] [--max-minutes 30] [--no-write]\n' +
        '  durations in seconds; --interval = seconds between negotiation rounds per viewer;\n' +
        '  --rate = connects (then creates, then joins) started per second, at most --concurrency\n' +
        '  in flight; --profile N runs the roomcast server with --cpu-prof at N clients;\n' +
        '  --repeat R runs every pair R times (alternating servers) and reports the lowest relay p99.',
    );
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const quick = values.quick;
  const clientCounts = (values.clients ?? (quick ? '200' : '1000,5000,10000'))
    .split(',')
    .map((s) => Math.round(positive('clients', s.trim(), 0) / CLIENTS_PER_ROOM) * CLIENTS_PER_ROOM)
    .filter((n) => n > 0);
  if (clientCounts.length === 0) throw new Error('--clients needs at least one count ≥ 10');
  const targets = values.targets.split(',').map((t) => t.trim());
  for (const t of targets) {
    if (t !== 'roomcast' && t !== 'peerjs') throw new Error(`unknown target ${t}`);
  }
  return {
    clientCounts,
    workers: Math.round(positive('workers', values.workers, 2)),
    viewersPerRoom: VIEWERS_PER_ROOM,
    durationMs: positive('duration', values.duration, quick ? 8 : 30) * 1000,
    roundIntervalMs: positive('interval', values.interval, quick ? 2 : 20) * 1000,
    drainMs: positive('drain', values.drain, 3) * 1000,
    ratePerSec: positive('rate', values.rate, 500),
    concurrency: Math.round(positive('concurrency', values.concurrency, 64)),
    targets: targets as TargetName[],
    profileAt: values.profile === undefined ? null : positive('profile', values.profile, 0),
    requestTimeoutMs: 20_000,
    maxMinutes: positive('max-minutes', values['max-minutes'], 30),
    repeat: Math.round(positive('repeat', values.repeat, 1)),
    write: !values['no-write'],
  };
}

/** Raises this process's soft fd limit (inherited by every child) when the run needs it. */
function ensureFileDescriptors(maxClients: number): void {
  const needed = maxClients + FD_HEADROOM;
  const { soft, hard } = readNoFileLimit();
  if (soft >= needed) return;
  if (hard < needed) {
    console.warn(
      `warning: open-file limit ${soft}/${hard} < ${needed}; raise it (ulimit -n) or expect connect failures`,
    );
    return;
  }
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  console.log(`raised open-file soft limit ${soft} → ${hard}`);
}

function mergePhases(results: PhaseResult[]): PhaseSummary {
  const latency = new LatencyHistogram();
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  let elapsedMs = 0;
  for (const result of results) {
    latency.merge(result.latency);
    ok += result.ok;
    failed += result.failed;
    elapsedMs = Math.max(elapsedMs, result.elapsedMs);
    for (const error of result.errors)
      if (errors.length < 5 && !errors.includes(error)) errors.push(error);
  }
  return { ok, failed, errors, latency: latency.summary(), elapsedMs };
}

function splitRooms(rooms: number, workers: number): number[] {
  const base = Math.floor(rooms / workers);
  return Array.from({ length: workers }, (_, i) => base + (i < rooms % workers ? 1 : 0)).filter(
    (n) => n > 0,
  );
}

function emptyRun(
  target: TargetName,
  clients: number,
  workers: number,
  attempt: number,
): TargetRun {
  return {
    target,
    clients,
    rooms: clients / CLIENTS_PER_ROOM,
    workers,
    connect: null,
    join: null,
    relay: null,
    sent: 0,
    deliveredInWindow: 0,
    deliveredTotal: 0,
    msgsPerSec: 0,
    lossPct: 0,
    otherEvents: 0,
    serverRss: {
      baselineBytes: null,
      afterJoinBytes: null,
      afterSignalBytes: null,
      peakBytes: null,
    },
    rssPerClientBytes: null,
    serverCpuPct: null,
    workerCpuPct: null,
    workerLoopDelayP99Ms: null,
    serverLoopDelay: { join: null, signal: null },
    boxLoad1m: boxLoad1m(),
    attempt,
    error: null,
  };
}

/** The busiest profile in `dir`: the server's main thread, not tsx's module-loader thread. */
function mainThreadProfile(dir: string): string | null {
  if (!existsSync(dir)) return null;
  let best: { file: string; busyPct: number } | null = null;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const file = path.join(dir, name);
    const { busyPct } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), 1);
    if (!best || busyPct > best.busyPct) best = { file, busyPct };
  }
  return best?.file ?? null;
}

/** Per (clients, target): the error-free attempt with the lowest relay p99, else the first. */
function pickBestAttempts(attempts: TargetRun[], options: Options): TargetRun[] {
  const best: TargetRun[] = [];
  for (const clients of options.clientCounts) {
    for (const target of options.targets) {
      const candidates = attempts.filter((a) => a.clients === clients && a.target === target);
      const usable = candidates.filter((a) => !a.error && a.relay);
      const pick = usable.sort((a, b) => a.relay!.p99 - b.relay!.p99)[0] ?? candidates[0];
      if (pick) best.push(pick);
    }
  }
  return best;
}

interface ProfileCapture {
  file: string;
  clients: number;
}

async function runTarget(
  target: TargetName,
  clients: number,
  options: Options,
  attempt: number,
): Promise<{ run: TargetRun; profile: ProfileCapture | null }> {
  const rooms = clients / CLIENTS_PER_ROOM;
  const roomsPerWorker = splitRooms(rooms, options.workers);
  const run = emptyRun(target, clients, roomsPerWorker.length, attempt);
  const profiling = target === 'roomcast' && options.profileAt === clients && attempt === 1;
  // One directory per run: V8 writes a profile per thread (tsx's loader has its own).
  const profileDir = path.join(PROFILE_DIR, `roomcast-${clients}`);
  if (profiling) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const server = await startServer({
    target,
    nodeFlags: profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, readRssBytes(server.pid) ?? 0);
  }, RSS_SAMPLE_MS);
  const workers = roomsPerWorker.map((_, i) => new LoadWorker(i));
  const log = (text: string) =>
    console.log(`[${target} ${clients}${options.repeat > 1 ? ` #${attempt}` : ''}] ${text}`);
  try {
    await sleep(500);
    run.serverRss.baselineBytes = readRssBytes(server.pid);
    const perWorkerConcurrency = Math.max(1, Math.ceil(options.concurrency / workers.length));
    await Promise.all(
      workers.map((worker, i) =>
        worker.init({
          type: 'init',
          target,
          url:
            target === 'roomcast'
              ? `http://127.0.0.1:${server.port}`
              : `ws://127.0.0.1:${server.port}/peerjs`,
          workerIndex: i,
          rooms: roomsPerWorker[i]!,
          viewersPerRoom: VIEWERS_PER_ROOM,
          ratePerSec: options.ratePerSec / workers.length,
          concurrency: perWorkerConcurrency,
          requestTimeoutMs: options.requestTimeoutMs,
        }),
      ),
    );
    // Generous bounds: a phase that needs longer than this is a failure worth reporting.
    const setupTimeoutMs = 60_000 + clients * 20;
    const phase = async (name: 'connect' | 'create' | 'join') => {
      const results = await Promise.all(
        workers.map((w) => w.phase<PhaseResult>({ type: 'phase', phase: name }, setupTimeoutMs)),
      );
      const summary = mergePhases(results);
      if (target === 'peerjs' && name !== 'connect') {
        log(`${name}: n/a (PeerJS has no rooms; its "join" is connect until OPEN)`);
        return summary;
      }
      log(
        `${name}: ${summary.ok} ok, ${summary.failed} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s; ` +
          `p50 ${summary.latency.p50.toFixed(2)} ms, p99 ${summary.latency.p99.toFixed(2)} ms` +
          (summary.errors.length ? ` (${summary.errors.join('; ')})` : ''),
      );
      return summary;
    };
    run.connect = await phase('connect');
    const create = await phase('create');
    await server.probe();
    const join = await phase('join');
    run.serverLoopDelay.join = await server.probe();
    // PeerJS has no rooms: its "join" is connecting until the server's OPEN.
    run.join = target === 'roomcast' ? join : run.connect;
    if (target === 'roomcast' && create.failed > 0) {
      run.join = { ...join, failed: join.failed + create.failed * VIEWERS_PER_ROOM };
    }
    run.serverRss.afterJoinBytes = readRssBytes(server.pid);

    await server.probe();
    const cpuBefore = readCpuMs(server.pid);
    const signalStartedAt = Date.now();
    const signalResults = await Promise.all(
      workers.map((w) =>
        w.phase<SignalResult>(
          {
            type: 'phase',
            phase: 'signal',
            durationMs: options.durationMs,
            roundIntervalMs: options.roundIntervalMs,
            drainMs: options.drainMs,
          },
          options.durationMs + options.drainMs + 30_000,
        ),
      ),
    );
    const cpuAfter = readCpuMs(server.pid);
    run.serverLoopDelay.signal = await server.probe();
    const signalMs = Date.now() - signalStartedAt;
    const relay = new LatencyHistogram();
    for (const result of signalResults) {
      relay.merge(result.latency);
      run.sent += result.sent;
      run.deliveredInWindow += result.deliveredInWindow;
      run.deliveredTotal += result.deliveredTotal;
      run.otherEvents += result.otherEvents;
    }
    run.relay = relay.summary();
    run.msgsPerSec = run.deliveredInWindow / (options.durationMs / 1000);
    run.lossPct =
      run.sent === 0 ? 0 : (Math.max(0, run.sent - run.deliveredTotal) / run.sent) * 100;
    run.workerCpuPct = (signalResults.reduce((sum, r) => sum + r.workerCpuMs, 0) / signalMs) * 100;
    run.workerLoopDelayP99Ms = Math.max(...signalResults.map((r) => r.loopDelayP99Ms));
    if (cpuBefore !== null && cpuAfter !== null) {
      run.serverCpuPct = ((cpuAfter - cpuBefore) / signalMs) * 100;
    }
    run.serverRss.afterSignalBytes = readRssBytes(server.pid);
    run.serverRss.peakBytes = peakRss;
    if (run.serverRss.afterSignalBytes !== null && run.serverRss.baselineBytes !== null) {
      run.rssPerClientBytes =
        (run.serverRss.afterSignalBytes - run.serverRss.baselineBytes) / clients;
    }
    const disconnects = signalResults.flatMap((r) => r.errors);
    log(
      `signal: ${run.deliveredTotal}/${run.sent} delivered, ${Math.round(run.msgsPerSec)} msgs/s, ` +
        `relay p50 ${run.relay.p50.toFixed(2)} ms p99 ${run.relay.p99.toFixed(2)} ms max ${run.relay.max.toFixed(1)} ms; ` +
        `server CPU ${run.serverCpuPct?.toFixed(0)} %, server loop lag p99 ` +
        `${run.serverLoopDelay.signal?.loopDelayP99Ms.toFixed(1)} ms max ` +
        `${run.serverLoopDelay.signal?.loopDelayMaxMs.toFixed(1)} ms, workers CPU ${run.workerCpuPct.toFixed(0)} %, ` +
        `worker loop lag p99 ${run.workerLoopDelayP99Ms.toFixed(1)} ms; server RSS ` +
        `${((run.serverRss.afterSignalBytes ?? 0) / 1024 ** 2).toFixed(0)} MB` +
        (disconnects.length ? `; ${disconnects.join('; ')}` : ''),
    );
  } catch (error) {
    run.error = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`FAILED: ${run.error}`);
    if (server.stderrTail.length) log(`server stderr:\n${server.stderrTail.join('\n')}`);
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((w) => w.close()));
    await stopChild(server.child);
  }
  const profileFile = profiling ? mainThreadProfile(profileDir) : null;
  if (profiling && !profileFile) log('no CPU profile was written');
  return { run, profile: profileFile ? { file: profileFile, clients } : null };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const command = commandLine('bench:signalling', argv);
  ensureFileDescriptors(Math.max(...options.clientCounts));
  startDeadline(options.maxMinutes);

  const startedAt = new Date();
  const attempts: TargetRun[] = [];
  let profile: BenchReport['profile'] = null;
  for (const clients of options.clientCounts) {
    for (let attempt = 1; attempt <= options.repeat; attempt++) {
      // Alternate the order so neither server always runs right after the other.
      const order = attempt % 2 === 1 ? options.targets : [...options.targets].reverse();
      for (const target of order) {
        const result = await runTarget(target, clients, options, attempt);
        attempts.push(result.run);
        if (result.profile) {
          const summary = summarizeProfile(JSON.parse(readFileSync(result.profile.file, 'utf8')));
          profile = {
            file: path.relative(REPO_ROOT, result.profile.file),
            clients: result.profile.clients,
            ...summary,
          };
          console.log(`profile ${profile.file}:`, summary);
        }
        await sleep(1000);
      }
    }
  }
  const runs = pickBestAttempts(attempts, options);

  const report: BenchReport = {
    date: reportDate(startedAt),
    machine: machineInfo(),
    settings: {
      command,
      clientCounts: options.clientCounts,
      workers: options.workers,
      viewersPerRoom: options.viewersPerRoom,
      durationMs: options.durationMs,
      roundIntervalMs: options.roundIntervalMs,
      drainMs: options.drainMs,
      ratePerSec: options.ratePerSec,
      concurrency: options.concurrency,
      repeat: options.repeat,
    },
    runs,
    attempts,
    profile,
  };
  await writeResults({
    prefix: 'signalling',
    startedAt,
    report,
    render: renderSection,
    markers: SIGNALLING_SECTION,
    write: options.write,
  });
  if (runs.some((r) => r.error)) process.exitCode = 1;
}

runMain(main);
