/** Result shapes and the BENCHMARKS.md section of the relay fan-out benchmark (pure). */
import type { LatencySummary } from '../signalling/histogram';
import type { MachineInfo } from '../common/report';
import type { FrameSpec, FrameSizes } from './frames';
import type { RelayTarget } from './ipc';

export const RELAY_SECTION = {
  start: '<!-- bench:relay:start -->',
  end: '<!-- bench:relay:end -->',
};

export interface WindowMeasure {
  /** Measured viewers that were connected and subscribed. */
  viewers: number;
  windowMs: number;
  sentVideo: number;
  sentAudio: number;
  sentBytes: number;
  deliveredVideoPct: number;
  deliveredAudioPct: number;
  /** Lowest per-viewer video delivery, %. */
  worstViewerVideoPct: number;
  deliveredMbpsTotal: number;
  deliveredMbpsPerViewer: number;
  latency: LatencySummary;
  serverCpuPct: number | null;
  serverRssBytes: number | null;
  /** The server process's own event-loop delay during the window. */
  serverLoopDelayP99Ms: number | null;
  serverLoopDelayMaxMs: number | null;
  workerLoopDelayP99Ms: number;
  workerCpuPct: number;
  /** Only when a throttled viewer exists: what it received, % of sent. */
  throttledVideoPct: number | null;
  throttledAudioPct: number | null;
  throttledDisconnected: number;
  disconnects: number;
}

export interface RelayRun {
  target: RelayTarget;
  viewers: number;
  setupFailures: number;
  setupErrors: string[];
  clean: WindowMeasure | null;
  /** Same server and viewers, after one extra viewer stopped reading its socket. */
  throttled: WindowMeasure | null;
  serverPeakRssBytes: number | null;
  boxLoad1m: number;
  error: string | null;
}

export interface RelaySettings {
  command: string;
  sizes: number[];
  workers: number;
  windowMs: number;
  warmupMs: number;
  drainMs: number;
  throttleAt: number | null;
  throttleSettleMs: number;
  spec: FrameSpec;
  frameSizes: FrameSizes;
}

export interface RelayReport {
  date: string;
  machine: MachineInfo;
  settings: RelaySettings;
  runs: RelayRun[];
}

const fixed = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const pct = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined ? '–' : `${value.toFixed(digits)} %`;
const mb = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? '–' : (bytes / 1024 ** 2).toFixed(0);
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0
    ? '–'
    : `${(a / b).toFixed(2)}×`;

export function renderRelaySection(report: RelayReport, rawJsonPath: string): string {
  const { machine, settings } = report;
  const { spec } = settings;
  const sizes = settings.frameSizes;
  const lines: string[] = [RELAY_SECTION.start, '## Relay fan-out (issue 3)', ''];
  lines.push(`- Command: \`${settings.command}\``);
  lines.push(`- Date: ${report.date}`);
  lines.push(
    `- Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.ramGiB} GiB RAM, ${machine.kernel}, ` +
      `Node ${machine.node}. Server, publisher and viewers share this box (loopback only).`,
  );
  lines.push(
    `- Load: 1 publisher socket (\`create_room\`, then binary \`relay_chunk\` events in the ` +
      `shared/relay-frame.ts envelope): ${spec.videoFps} fps video with a keyframe every ` +
      `${spec.keyframeIntervalMs} ms (keyframe ${sizes.keyframeBytes} B with decoder config, deltas ` +
      `${sizes.deltaBytes} B) + ${spec.audioFps} audio frames/s (${sizes.audioBytes} B) ≈ ` +
      `${spec.totalKbps / 1000} Mbit/s. Viewers: \`socket.io-client\` (\`transports: ['websocket']\`) that ` +
      `\`join_room\` then \`relay_subscribe {reason:'forced'}\`, spread over ${settings.workers} worker ` +
      `processes. Each size: ${settings.warmupMs / 1000} s warm-up, then a ${settings.windowMs / 1000} s ` +
      `window; frames are stamped with the window id and send time, and counted at every viewer after a ` +
      `${settings.drainMs / 1000} s drain.`,
  );
  lines.push(
    '- Practical limit, same run: a raw `ws` broadcast server (bench/relay/raw-ws-server.ts, no rooms, no ' +
      'backlog policy) forwarding the same envelope bytes to plain `ws` viewers.',
  );
  lines.push(
    '- Delivered = frames received by measured viewers ÷ (frames sent in the window × viewers). Mbit/s = ' +
      'envelope bytes received per second (excluding Socket.IO/WebSocket framing). Latency = receive − send ' +
      'time stamped in the payload (one clock). Server CPU = % of one core during the window; RSS from ' +
      '`/proc/<pid>/status` at the window end.',
  );
  lines.push('');
  lines.push(
    '| Viewers | Server | Delivered video / audio | Worst viewer video | Mbit/s total | Mbit/s per viewer | Latency p50 / p99 (ms) | Server CPU | Server loop lag p99 / max (ms) | Server RSS (MB) | Viewer workers CPU | Client loop lag p99 (ms) | Box load 1 min | Failures |',
  );
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const run of report.runs) {
    const m = run.clean;
    const failures = run.error
      ? `run error: ${run.error}`
      : run.setupFailures > 0
        ? `${run.setupFailures} viewers (${run.setupErrors.join('; ')})`
        : '0';
    lines.push(
      `| ${run.viewers} | ${run.target} | ${pct(m?.deliveredVideoPct)} / ${pct(m?.deliveredAudioPct)} | ` +
        `${pct(m?.worstViewerVideoPct, 1)} | ${fixed(m?.deliveredMbpsTotal)} | ` +
        `${fixed(m?.deliveredMbpsPerViewer, 2)} | ${fixed(m?.latency.p50)} / ${fixed(m?.latency.p99)} | ` +
        `${m?.serverCpuPct === null || m === null ? '–' : `${m.serverCpuPct.toFixed(0)} %`} | ` +
        `${fixed(m?.serverLoopDelayP99Ms)} / ${fixed(m?.serverLoopDelayMaxMs)} | ` +
        `${mb(m?.serverRssBytes)} | ${m ? `${m.workerCpuPct.toFixed(0)} %` : '–'} | ${fixed(m?.workerLoopDelayP99Ms)} | ${run.boxLoad1m.toFixed(1)} | ${failures} |`,
    );
  }
  lines.push('');
  lines.push(
    'roomcast ÷ raw ws (throughput: above 1× is better; CPU and latency: below 1× is better):',
  );
  lines.push('');
  lines.push(
    '| Viewers | Delivered Mbit/s | Server CPU | Latency p50 | Latency p99 | Server RSS |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|');
  for (const size of settings.sizes) {
    const rc = report.runs.find((r) => r.viewers === size && r.target === 'roomcast')?.clean;
    const raw = report.runs.find((r) => r.viewers === size && r.target === 'raw-ws')?.clean;
    if (!rc || !raw) continue;
    lines.push(
      `| ${size} | ${ratio(rc.deliveredMbpsTotal, raw.deliveredMbpsTotal)} | ` +
        `${ratio(rc.serverCpuPct, raw.serverCpuPct)} | ${ratio(rc.latency.p50, raw.latency.p50)} | ` +
        `${ratio(rc.latency.p99, raw.latency.p99)} | ${ratio(rc.serverRssBytes, raw.serverRssBytes)} |`,
    );
  }
  const throttledRuns = report.runs.filter((r) => r.throttled);
  if (throttledRuns.length > 0) {
    lines.push('');
    lines.push(
      `One throttled viewer (an extra viewer whose worker calls \`pause()\` on its TCP socket, so it ` +
        `stops reading; ${settings.throttleSettleMs / 1000} s for the kernel socket buffers to fill, then a ` +
        `second window on the same server): frame loss of the OTHER viewers without → with it. The last ` +
        `column is what the throttled viewer got of the second window once it read again (4 s): below 100 % ` +
        `video with ~100 % audio is drop-to-keyframe at work; 100 % of both means the server buffered ` +
        `everything for it.`,
    );
    lines.push('');
    lines.push(
      '| Viewers | Server | Others lost video (without → with) | Others lost audio | Others worst viewer video | Server RSS with (MB) | Throttled viewer got video / audio (after reading again) | Throttled viewer disconnected |',
    );
    lines.push('|---:|---|---:|---:|---:|---:|---:|---|');
    for (const run of throttledRuns) {
      const a = run.clean;
      const b = run.throttled!;
      const lost = (value: number | undefined) =>
        value === undefined ? '–' : `${(100 - value).toFixed(2)} %`;
      lines.push(
        `| ${run.viewers} | ${run.target} | ${lost(a?.deliveredVideoPct)} → ${lost(b.deliveredVideoPct)} | ` +
          `${lost(a?.deliveredAudioPct)} → ${lost(b.deliveredAudioPct)} | ${pct(b.worstViewerVideoPct, 1)} | ` +
          `${mb(b.serverRssBytes)} | ${pct(b.throttledVideoPct, 1)} / ${pct(b.throttledAudioPct, 1)} | ` +
          `${b.throttledDisconnected > 0 ? 'yes' : 'no'} |`,
      );
    }
  }
  const busiest = Math.max(0, ...report.runs.map((r) => r.boxLoad1m));
  if (busiest > machine.nproc) {
    lines.push('');
    lines.push(
      `Noise: the box was busy during this run (1-minute load up to ${busiest.toFixed(1)} on ` +
        `${machine.nproc} cores, from other work sharing them), so latency tails and loop lags are upper ` +
        'bounds; delivery and throughput are less sensitive.',
    );
  }
  lines.push('');
  lines.push(...goalLines(report));
  lines.push('');
  lines.push(`Raw results: \`${rawJsonPath}\``);
  lines.push(RELAY_SECTION.end);
  return lines.join('\n');
}

function goalLines(report: RelayReport): string[] {
  const lines = ['Goals (issue 3):'];
  const at = report.settings.sizes.includes(100) ? 100 : Math.max(...report.settings.sizes);
  const rc = report.runs.find((r) => r.viewers === at && r.target === 'roomcast')?.clean;
  const raw = report.runs.find((r) => r.viewers === at && r.target === 'raw-ws')?.clean;
  if (rc && raw && raw.deliveredMbpsTotal > 0) {
    const value = rc.deliveredMbpsTotal / raw.deliveredMbpsTotal;
    lines.push(
      `- ≥ 0.8× raw ws delivered throughput at ${at} viewers${at === 100 ? '' : ' (100 not run)'}: ` +
        `${value.toFixed(2)}× → ${value >= 0.8 ? 'met' : 'missed'}` +
        `${raw.deliveredVideoPct > 99.9 && rc.deliveredVideoPct > 99.9 ? ' (both delivered the whole offered load, so this ratio shows that roomcast kept up, not its ceiling; compare server CPU)' : ''}.`,
    );
  } else {
    lines.push(`- ≥ 0.8× raw ws at ${at} viewers: not measured.`);
  }
  const throttled = report.runs.find((r) => r.target === 'roomcast' && r.throttled);
  if (throttled?.throttled) {
    const loss = 100 - throttled.throttled.deliveredVideoPct;
    const audioLoss = 100 - throttled.throttled.deliveredAudioPct;
    const worst = Math.max(loss, audioLoss);
    lines.push(
      `- One throttled viewer costs the others < 1 % of frames (${throttled.viewers} viewers): others lost ` +
        `${loss.toFixed(2)} % video, ${audioLoss.toFixed(2)} % audio → ${worst < 1 ? 'met' : 'missed'}.`,
    );
  } else {
    lines.push('- Throttled viewer: not measured.');
  }
  return lines;
}
