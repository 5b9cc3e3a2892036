/**
 * `npm run bench:relay [-- --sizes 50,100,200 | --quick]`
 *
 * Relay fan-out: 1 publisher at ~3 Mbit/s to N relay viewers on the real roomcast server, and
 * the same bytes through a raw `ws` broadcast server as the practical limit, in one run; plus
 * one throttled viewer to show what a slow reader costs the others. Writes
 * bench/results/relay-<time>.json and the bench:relay section of BENCHMARKS.md.
 */
import { parseArgs } from 'node:util';
import { machineInfo } from '../common/report';
import {
  commandLine,
  reportDate,
  runMain,
  sleep,
  startDeadline,
  writeResults,
} from '../common/run';
import { DEFAULT_FRAME_SPEC, frameSizes } from './frames';
import type { RelayTarget } from './ipc';
import { runOne, type Options } from './fanout';
import {
  RELAY_SECTION,
  renderRelaySection,
  type RelayReport,
  type RelayRun,
  type RelaySettings,
} from './report';

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      workers: { type: 'string', default: '2' },
      window: { type: 'string' },
      warmup: { type: 'string', default: '2' },
      drain: { type: 'string', default: '1.5' },
      'throttle-at': { type: 'string' },
      kbps: { type: 'string', default: String(DEFAULT_FRAME_SPEC.totalKbps) },
      'throttle-settle': { type: 'string', default: '12' },
      targets: { type: 'string', default: 'roomcast,raw-ws' },
      'max-minutes': { type: 'string', default: '15' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx bench/relay/run.ts [--sizes 50,100,200 | --quick] [--workers 2] [--window 10]\n' +
        '  [--warmup 2] [--drain 1.5] [--throttle-at 100|0] [--throttle-settle 12]\n' +
        '  [--targets roomcast,raw-ws] [--kbps 3000] [--max-minutes 15] [--no-write]\n' +
        '  times in seconds; --throttle-at N adds one throttled viewer at size N (0: none);\n' +
        '  --throttle-settle: how long it stops reading before the second window (the kernel\n' +
        '  socket buffers, ~4 MB on loopback, must fill before the server sees a backlog; keep\n' +
        "  settle + window under ~20 s or Socket.IO's heartbeat drops the paused viewer).",
    );
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0`);
    return value;
  };
  const quick = values.quick;
  const sizes = (values.sizes ?? (quick ? '20' : '50,100,200'))
    .split(',')
    .map((s) => Math.round(positive('sizes', s.trim(), 0)))
    .filter((n) => n > 0);
  if (sizes.length === 0) throw new Error('--sizes needs at least one count');
  const targets = values.targets.split(',').map((t) => t.trim());
  for (const t of targets) {
    if (t !== 'roomcast' && t !== 'raw-ws') throw new Error(`unknown target ${t}`);
  }
  const throttleDefault = sizes.includes(100) ? 100 : sizes[0]!;
  const throttleAt = Math.round(positive('throttle-at', values['throttle-at'], throttleDefault));
  return {
    sizes,
    workers: Math.max(1, Math.round(positive('workers', values.workers, 2))),
    windowMs: positive('window', values.window, quick ? 4 : 10) * 1000,
    warmupMs: positive('warmup', values.warmup, 2) * 1000,
    drainMs: positive('drain', values.drain, 1.5) * 1000,
    throttleAt: throttleAt > 0 ? throttleAt : null,
    throttleSettleMs: positive('throttle-settle', values['throttle-settle'], 12) * 1000,
    targets: targets as RelayTarget[],
    spec: { ...DEFAULT_FRAME_SPEC, totalKbps: positive('kbps', values.kbps, 3000) },
    maxMinutes: positive('max-minutes', values['max-minutes'], 15),
    write: !values['no-write'],
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const command = commandLine('bench:relay', argv);
  startDeadline(options.maxMinutes);
  const startedAt = new Date();
  const runs: RelayRun[] = [];
  for (const size of options.sizes) {
    for (const target of options.targets) {
      runs.push(await runOne(target, size, options));
      await sleep(500);
    }
  }
  const settings: RelaySettings = {
    command,
    sizes: options.sizes,
    workers: options.workers,
    windowMs: options.windowMs,
    warmupMs: options.warmupMs,
    drainMs: options.drainMs,
    throttleAt: options.throttleAt,
    throttleSettleMs: options.throttleSettleMs,
    spec: options.spec,
    frameSizes: frameSizes(options.spec),
  };
  const report: RelayReport = {
    date: reportDate(startedAt),
    machine: machineInfo(),
    settings,
    runs,
  };
  await writeResults({
    prefix: 'relay',
    startedAt,
    report,
    render: renderRelaySection,
    markers: RELAY_SECTION,
    write: options.write,
  });
  if (runs.some((r) => r.error)) process.exitCode = 1;
}

runMain(main);
