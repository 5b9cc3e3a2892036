/** The BENCHMARKS.md section of the HLS mirror benchmark (pure). */
import type { MachineInfo } from '../common/report';
import type { LatencyStats } from '../latency/stats';

export const HLS_SECTION = {
  start: '<!-- bench:hls:start -->',
  end: '<!-- bench:hls:end -->',
};

export interface HlsRun {
  name: string;
  segmentSeconds: number;
  player: string;
  latency: LatencyStats;
  firstFrame: LatencyStats;
  joins: number;
  errors: string[];
}

export interface HlsBenchReport {
  date: string;
  machine: MachineInfo;
  command: string;
  chromium: string;
  settings: { seconds: number; joins: number; quality: string };
  boxLoad1m: number;
  runs: HlsRun[];
  cpu: { mode: string; ffmpegPct: number; serverPct: number; seconds: number }[];
}

const s = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '–');
const pct = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

export function hlsGoals(
  report: HlsBenchReport,
): { name: string; value: string; met: boolean | null }[] {
  const tuned = report.runs.find((r) => r.name === 'roomcast');
  const copy = report.cpu.find((c) => c.mode.startsWith('copy'));
  const p50 = tuned?.latency.p50 ?? NaN;
  const ttff = tuned?.firstFrame.p50 ?? NaN;
  return [
    { name: 'HLS p50 ≤ 3 s', value: `${s(p50)} s`, met: Number.isFinite(p50) ? p50 <= 3000 : null },
    {
      name: 'stretch: HLS p50 ≤ 1.5 s',
      value: `${s(p50)} s`,
      met: Number.isFinite(p50) ? p50 <= 1500 : null,
    },
    {
      name: 'time to first frame ≤ 2.5 s (p50)',
      value: `${s(ttff)} s`,
      met: Number.isFinite(ttff) ? ttff <= 2500 : null,
    },
    {
      name: 'copy mirror ≤ 5 % of one core (ffmpeg)',
      value: `${pct(copy?.ffmpegPct ?? NaN)} %`,
      met: copy ? copy.ffmpegPct <= 5 : null,
    },
  ];
}

export function renderHlsSection(report: HlsBenchReport, rawJsonPath: string): string {
  const { machine } = report;
  const lines = [
    HLS_SECTION.start,
    '## HLS mirror: glass-to-glass latency, time to first frame, CPU per mirror (issue 4)',
    '',
    `- Command: \`${report.command}\``,
    `- Date: ${report.date}; box load (1 min) at start ${report.boxLoad1m.toFixed(1)}`,
    `- Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.ramGiB} GiB RAM, ${machine.kernel}, Node ${machine.node}; ${report.chromium} headless. Server, ffmpeg and every page share this box.`,
    `- Source: the bench:latency clock canvas (1280×720, 30 fps, ${report.settings.quality}) through the real broadcast page; the relay upstream encodes H.264 (egress asks for it), the server muxes Matroska into ffmpeg (video copied, Opus → AAC), MPEG-TS segments. Viewers: a fresh context loads the home page, clicks a link to \`/live/<room>\` (hls.js), and reads back every presented frame; latency = frame time − stamp; first frame = first presented frame − click. ${report.settings.joins} join(s) × ${report.settings.seconds} s per configuration.`,
    '- Baseline (same run, own server): `hls_time 2` and hls.js defaults (`/live/<room>?tuning=default`).',
    '',
    '| Configuration | Segment | Player | p50 (s) | p95 (s) | Samples | First frame p50 / max (s) | Errors |',
    '|---|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of report.runs) {
    lines.push(
      `| ${r.name} | ${r.segmentSeconds} s | ${r.player} | ${s(r.latency.p50)} | ${s(r.latency.p95)} | ${r.latency.count} | ${s(r.firstFrame.p50)} / ${s(r.firstFrame.max)} | ${r.errors.length ? r.errors.join('; ') : '–'} |`,
    );
  }
  lines.push(
    '',
    '| Mirror | ffmpeg CPU (% of one core) | Server CPU (% of one core, relay + mux + pages’ sockets) | Window |',
    '|---|---:|---:|---:|',
  );
  for (const c of report.cpu) {
    lines.push(`| ${c.mode} | ${pct(c.ffmpegPct)} | ${pct(c.serverPct)} | ${c.seconds} s |`);
  }
  lines.push('', 'Goals (issue 4):', '');
  for (const g of hlsGoals(report)) {
    lines.push(
      `- ${g.name}: ${g.value} → ${g.met === null ? 'not measured' : g.met ? 'met' : 'missed'}.`,
    );
  }
  lines.push('', `Raw results: \`${rawJsonPath}\``, HLS_SECTION.end);
  return lines.join('\n');
}
