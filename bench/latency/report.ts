/** The BENCHMARKS.md section of the latency benchmark (pure). */
import type { MachineInfo } from '../common/report';
import type { BrowserCell, BrowserMatrix } from './browsers';
import { evaluateGoals, type PathResult } from './stats';

export const LATENCY_SECTION = {
  start: '<!-- bench:latency:start -->',
  end: '<!-- bench:latency:end -->',
};

export interface LatencyReport {
  date: string;
  machine: MachineInfo;
  command: string;
  chromium: string;
  settings: { seconds: number; joins: number; quality: string; codec: string };
  boxLoad1m: number;
  results: PathResult[];
  /** Firefox beside Chromium (issue 14); absent with --no-firefox. */
  browsers?: BrowserMatrix;
}

function cellText(cell: BrowserCell | undefined): {
  latency: string;
  first: string;
  codec: string;
} {
  if (!cell) return { latency: '–', first: '–', codec: '–' };
  const errors = cell.joins.filter((j) => j.error).length;
  const note = errors ? ` (${errors} of ${cell.joins.length} joins not counted)` : '';
  return {
    latency: `${fmt(cell.latency.p50)} / ${fmt(cell.latency.p95)}${note}`,
    first: fmt(cell.firstFrame.p50),
    codec: unique(cell.joins.map((j) => j.codec)),
  };
}

/** The Chromium and Firefox columns: one row per broadcaster and path. */
export function renderBrowserTable(matrix: BrowserMatrix): string[] {
  const lines = [
    `### Chromium and Firefox (issue 14; ${matrix.firefox} over WebDriver BiDi, same run)`,
    '',
    'Glass-to-glass p50 / p95 and first frame after the click (p50), per broadcaster browser and path; ' +
      'a Firefox page is a window of its own in one headless Firefox (one user context per page). ' +
      'The Chromium broadcaster stops before the Firefox one starts.',
    '',
    '| Broadcaster | Path | Chromium viewer p50 / p95 (ms) | Firefox viewer p50 / p95 (ms) | First frame, Chromium / Firefox viewer (ms) | Codec seen (Chromium / Firefox viewer) | Relay encoder |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const broadcaster of ['chromium', 'firefox'] as const) {
    for (const path of ['direct', 'relay'] as const) {
      const find = (viewer: string) =>
        matrix.cells.find(
          (c) => c.broadcaster === broadcaster && c.viewer === viewer && c.path === path,
        );
      const chromium = cellText(find('chromium'));
      const firefox = cellText(find('firefox'));
      const relayCodec =
        path === 'relay'
          ? (find('firefox')?.relayCodec ?? find('chromium')?.relayCodec ?? '–')
          : '–';
      const name = broadcaster === 'chromium' ? 'Chromium' : 'Firefox';
      lines.push(
        `| ${name} | ${path} | ${chromium.latency} | ${firefox.latency} | ${chromium.first} / ${firefox.first} | ` +
          `${chromium.codec} / ${firefox.codec} | ${relayCodec} |`,
      );
    }
  }
  return lines;
}

const fmt = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1);
const unique = (values: string[]) => [...new Set(values.filter((v) => v !== ''))].join(', ') || '–';

export function renderLatencySection(report: LatencyReport, rawJsonPath: string): string {
  const { machine, settings } = report;
  const lines: string[] = [
    LATENCY_SECTION.start,
    '## Glass-to-glass latency per path (issues 3 and 13)',
    '',
  ];
  lines.push(`- Command: \`${report.command}\``);
  lines.push(`- Date: ${report.date}; box load (1 min) at start ${report.boxLoad1m.toFixed(1)}`);
  lines.push(
    `- Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.ramGiB} GiB RAM, ${machine.kernel}, ` +
      `Node ${machine.node}; ${report.chromium} headless (fake-media flags), one browser, one context per ` +
      'page. The server, coturn and every page share this box (loopback only).',
  );
  lines.push(
    "- Source: a 1280×720 canvas drawn at 30 fps with the sender's clock (`performance.timeOrigin + " +
      'performance.now()`, 44 bits of ms + a 4-bit check) as 2 rows of 24 black/white blocks, captured with ' +
      '`captureStream(0)` + `requestFrame()` after each draw. App paths: an init script replaces ' +
      '`navigator.mediaDevices.getUserMedia` on the broadcast page, so the real app captures, encodes and ' +
      `sends it (quality ${settings.quality}, codec setting ${settings.codec}). Viewers read every presented ` +
      'frame back (`requestVideoFrameCallback` + `drawImage` + `getImageData`); latency = callback time − ' +
      'stamp (one machine, one clock).',
  );
  lines.push(
    '- Join: each viewer is a fresh context that loads the home page, then clicks a link to ' +
      '`/watch/<room>[?path=turn|sfu|relay]` (SPA navigation, like a listed room); time to first frame = first ' +
      `presented frame − click. ${settings.joins} join(s) per path, each sampled for ${settings.seconds} s. ` +
      'Bare pair (the floor, same run): two pages with no app code, one `RTCPeerConnection` each, the same ' +
      'canvas source, signalling through `page.evaluate`, AV1 first via `setCodecPreferences`, ' +
      'maxBitrate 2500 kbit/s (the 720p30 preset cap), host candidates only; its "first frame" counts from ' +
      'the answer being created.',
  );
  lines.push('');
  lines.push(
    '| Path | p50 (ms) | p95 (ms) | Mean (ms) | Samples | App ÷ bare (p50) | First frame after click (ms, p50 / max) | Path seen | Reason shown | Codec | Video size (last) | Unreadable frames |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|');
  const bare = report.results.find((r) => r.path === 'bare');
  for (const result of report.results) {
    const { latency, firstFrame, joins } = result;
    const ratio =
      result.path !== 'bare' &&
      bare &&
      Number.isFinite(bare.latency.p50) &&
      Number.isFinite(latency.p50)
        ? `${(latency.p50 / bare.latency.p50).toFixed(2)}×`
        : '–';
    const errors = joins.filter((j) => j.error).map((j) => j.error!);
    const bad = joins.reduce((s, j) => s + j.badReads, 0);
    const frames = joins.reduce((s, j) => s + j.frames, 0);
    lines.push(
      `| ${result.path}${errors.length ? ` (${errors.length} of ${joins.length} joins not counted: ${errors[0]})` : ''} | ` +
        `${fmt(latency.p50)} | ` +
        `${fmt(latency.p95)} | ${fmt(latency.mean)} | ${latency.count} | ${ratio} | ` +
        `${fmt(firstFrame.p50)} / ${fmt(firstFrame.max)} | ${unique(joins.map((j) => j.observedPath))} | ` +
        `${unique(joins.map((j) => j.reason))} | ` +
        `${unique(joins.map((j) => j.codec))} | ${unique(joins.map((j) => j.videoSize))} | ` +
        `${frames ? `${((bad / frames) * 100).toFixed(1)} %` : '–'} |`,
    );
  }
  if (report.boxLoad1m > machine.nproc) {
    lines.push('');
    lines.push(
      `Noise: the box was busy when this run started (1-minute load ${report.boxLoad1m.toFixed(1)} on ` +
        `${machine.nproc} cores, from other work sharing them); encoders adapt to CPU (see the video size), ` +
        'so these figures are upper bounds and the app ÷ bare ratios are the fairer comparison.',
    );
  }
  if (report.browsers) {
    lines.push('');
    lines.push(...renderBrowserTable(report.browsers));
  }
  lines.push('');
  lines.push('Goals (issue 3; reference on this machine kind: bare AV1 41 ms p50):');
  lines.push('');
  for (const goal of evaluateGoals(report.results)) {
    lines.push(
      `- ${goal.name}: ${goal.value} → ${goal.met === null ? 'not measured' : goal.met ? 'met' : 'missed'}.`,
    );
  }
  lines.push('');
  lines.push(`Raw results: \`${rawJsonPath}\``);
  lines.push(LATENCY_SECTION.end);
  return lines.join('\n');
}
