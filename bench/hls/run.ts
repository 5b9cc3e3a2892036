/**
 * `npm run bench:hls [-- --seconds 15 --joins 3 --cpu-seconds 20 --no-build --no-write]`
 *
 * The public HLS mirror, glass to glass: the same clock-stamped canvas as bench:latency goes
 * live through the real app, the mirror is switched on, and fresh /live/<room> pages (hls.js)
 * read every presented frame back. Two configurations in one run: the shipped one (1 s segments,
 * low-latency hls.js tuning) and a default-settings baseline (hls_time 2, hls.js defaults).
 * Then ffmpeg's CPU per mirror for an H.264 source (copy) and a VP9-only source (transcode).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumArgs } from '../../e2e/chromium-args';
import { buildClient } from '../common/build-client';
import { boxLoad1m as readBoxLoad1m, killAllChildren, readCpuMs } from '../common/processes';
import { machineInfo } from '../common/report';
import { commandLine, reportDate, sleep, writeResults } from '../common/run';
import { benchInitScript, readBenchState } from '../latency/page-scripts';
import { summarize } from '../latency/stats';
import { startRelayServer, type RelayServer } from '../relay/processes';
import { HLS_SECTION, renderHlsSection, type HlsBenchReport, type HlsRun } from './report';

const CHROMIUM = '/usr/bin/chromium';
const QUALITY = '720p30';
const HLS_VIDEO = 'video[data-testid="hls-video"]';

interface Options {
  seconds: number;
  joins: number;
  cpuSeconds: number;
  build: boolean;
  write: boolean;
  maxMinutes: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '15' },
      joins: { type: 'string', default: '3' },
      'cpu-seconds': { type: 'string', default: '20' },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      'max-minutes': { type: 'string', default: '15' },
    },
  });
  const n = (name: string, v: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${name} must be > 0`);
    return x;
  };
  return {
    seconds: values.quick ? 6 : n('seconds', values.seconds),
    joins: values.quick ? 1 : Math.round(n('joins', values.joins)),
    cpuSeconds: values.quick ? 8 : n('cpu-seconds', values['cpu-seconds']),
    build: !values['no-build'],
    write: !values['no-write'],
    maxMinutes: n('max-minutes', values['max-minutes']),
  };
}

async function newContext(
  browser: Browser,
  baseURL: string,
  role: 'source' | 'viewer',
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: benchInitScript(role, 100_000, HLS_VIDEO) });
  return context;
}

/** The broadcast page with the clock canvas as its camera, live, mirror on and producing. */
async function goLiveWithMirror(
  browser: Browser,
  baseURL: string,
  vp9Only: boolean,
): Promise<{ page: Page; room: string; context: BrowserContext }> {
  const context = await newContext(browser, baseURL, 'source');
  if (vp9Only) {
    await context.addInitScript(() => {
      const original = VideoEncoder.isConfigSupported.bind(VideoEncoder);
      VideoEncoder.isConfigSupported = async (config: VideoEncoderConfig) =>
        config.codec.startsWith('vp09') ? original(config) : { supported: false, config };
    });
  }
  const page = await context.newPage();
  await page.goto('/broadcast');
  await page.getByTestId('source-camera').click();
  await page.getByTestId('quality-select').selectOption(QUALITY);
  await page.getByTestId('go-live').click();
  const roomCode = page.getByTestId('room-code');
  await roomCode.filter({ hasText: /\d{6}/ }).waitFor({ timeout: 20_000 });
  const room = (await roomCode.innerText()).trim();
  await page.getByTestId('hls-mirror-toggle').check({ timeout: 10_000 });
  await page
    .getByTestId('hls-mirror-state')
    .filter({ hasText: /live/i })
    .waitFor({ timeout: 30_000 });
  // A few segments in the playlist, as a viewer arriving at a running mirror would find it.
  await sleep(4000);
  return { page, room, context };
}

async function measureJoin(
  browser: Browser,
  baseURL: string,
  href: string,
  seconds: number,
): Promise<{ samples: number[]; firstFrameMs: number | null; error: string | null }> {
  const context = await newContext(browser, baseURL, 'viewer');
  try {
    const page = await context.newPage();
    await page.goto('/');
    await page.getByTestId('join-room-input').waitFor();
    await page.evaluate((target) => {
      const a = document.createElement('a');
      a.id = 'bench-join';
      a.href = target;
      a.textContent = 'join';
      a.addEventListener('click', () =>
        (window as unknown as { __benchMarkClick(): void }).__benchMarkClick(),
      );
      document.body.prepend(a);
    }, href);
    await page.click('#bench-join');
    await page.waitForFunction(
      () =>
        (window as unknown as { __bench?: { firstFrameAt: number | null } }).__bench?.firstFrameAt,
      null,
      { timeout: 30_000, polling: 50 },
    );
    await sleep(seconds * 1000);
    const state = await page.evaluate(readBenchState);
    const firstFrameMs =
      state?.firstFrameAt != null && state.clickAt != null
        ? state.firstFrameAt - state.clickAt
        : null;
    return { samples: state?.samples ?? [], firstFrameMs, error: null };
  } catch (error) {
    return {
      samples: [],
      firstFrameMs: null,
      error: error instanceof Error ? error.message.split('\n')[0]! : String(error),
    };
  } finally {
    await context.close();
  }
}

function ffmpegPid(hlsDir: string, room: string): number | null {
  try {
    const out = execFileSync('pgrep', ['-f', `${hlsDir}/${room}/index.m3u8`], { encoding: 'utf8' });
    const pid = Number(out.trim().split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** CPU % of one core used by `pids` over `seconds`. */
async function cpuPercent(pids: number[], seconds: number): Promise<number[]> {
  const before = pids.map((p) => readCpuMs(p) ?? NaN);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = performance.now() - t0;
  return pids.map((p, i) => (((readCpuMs(p) ?? NaN) - before[i]!) / elapsed) * 100);
}

async function runConfig(
  browser: Browser,
  options: Options,
  env: Record<string, string>,
  name: string,
  query: string,
): Promise<{ run: HlsRun; server: RelayServer; hlsDir: string }> {
  const hlsDir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-hls-'));
  const server = await startRelayServer('roomcast', { ...env, HLS_DIR: hlsDir });
  const baseURL = server.url.replace('127.0.0.1', 'localhost');
  const live = await goLiveWithMirror(browser, baseURL, false);
  console.log(`[${name}] broadcasting in room ${live.room}`);
  const samples: number[] = [];
  const firstFrames: number[] = [];
  const errors: string[] = [];
  for (let i = 0; i < options.joins; i++) {
    const r = await measureJoin(browser, baseURL, `/live/${live.room}${query}`, options.seconds);
    if (r.error) errors.push(r.error);
    else {
      samples.push(...r.samples);
      if (r.firstFrameMs !== null) firstFrames.push(r.firstFrameMs);
    }
    const s = summarize(r.samples);
    console.log(
      `[${name} #${i + 1}] ${r.error ? `FAILED ${r.error}` : ''} first frame ${r.firstFrameMs?.toFixed(0) ?? '–'} ms; p50 ${s.p50.toFixed(0)} p95 ${s.p95.toFixed(0)} ms over ${s.count} frames`,
    );
  }
  await live.context.close();
  return {
    run: {
      name,
      segmentSeconds: Number(env.HLS_SEGMENT_S ?? 1),
      player: query ? 'hls.js defaults' : 'low-latency tuning',
      latency: summarize(samples),
      firstFrame: summarize(firstFrames),
      joins: options.joins,
      errors,
    },
    server,
    hlsDir,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const command = commandLine('bench:hls', argv);
  const startedAt = new Date();
  const boxLoad1m = readBoxLoad1m();
  const cleanup: Array<() => Promise<void> | void> = [];
  const deadline = setTimeout(() => {
    console.error(`bench exceeded --max-minutes ${options.maxMinutes}; stopping`);
    killAllChildren();
    process.exit(2);
  }, options.maxMinutes * 60_000);
  deadline.unref();
  const env: Record<string, string> = {};
  if (options.build) {
    const dir = buildClient();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    env.CLIENT_DIR = dir;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs });
  cleanup.push(() => browser.close());
  try {
    const runs: HlsRun[] = [];
    // Baseline first, then the shipped settings, each on its own server.
    const baseline = await runConfig(
      browser,
      options,
      { ...env, HLS_SEGMENT_S: '2' },
      'baseline',
      '?tuning=default',
    );
    runs.push(baseline.run);
    await baseline.server.stop();
    rmSync(baseline.hlsDir, { recursive: true, force: true });
    const tuned = await runConfig(browser, options, { ...env, HLS_SEGMENT_S: '1' }, 'roomcast', '');
    runs.push(tuned.run);
    await tuned.server.stop();
    rmSync(tuned.hlsDir, { recursive: true, force: true });

    // CPU per mirror: copy (H.264 relay upstream) vs transcode (VP9-only encoder).
    const hlsDir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-hls-cpu-'));
    const server = await startRelayServer('roomcast', { ...env, HLS_DIR: hlsDir });
    cleanup.push(async () => {
      await server.stop();
      rmSync(hlsDir, { recursive: true, force: true });
    });
    const baseURL = server.url.replace('127.0.0.1', 'localhost');
    const cpu: HlsBenchReport['cpu'] = [];
    for (const [mode, vp9Only] of [
      ['copy (H.264 source)', false],
      ['transcode (VP9 source → libx264 veryfast)', true],
    ] as const) {
      const live = await goLiveWithMirror(browser, baseURL, vp9Only);
      const pid = ffmpegPid(hlsDir, live.room);
      if (!pid) throw new Error(`no ffmpeg for ${mode}`);
      const [ffmpegPct, serverPct] = await cpuPercent([pid, server.pid], options.cpuSeconds);
      console.log(
        `[cpu ${mode}] ffmpeg ${ffmpegPct!.toFixed(1)} %, server ${serverPct!.toFixed(1)} % of one core`,
      );
      cpu.push({ mode, ffmpegPct: ffmpegPct!, serverPct: serverPct!, seconds: options.cpuSeconds });
      await live.context.close();
      await sleep(1500);
    }

    const report: HlsBenchReport = {
      date: reportDate(startedAt),
      machine: machineInfo(),
      command,
      chromium: `Chromium ${browser.version()}`,
      settings: { seconds: options.seconds, joins: options.joins, quality: QUALITY },
      boxLoad1m,
      runs,
      cpu,
    };
    await writeResults({
      prefix: 'hls',
      startedAt,
      report,
      render: renderHlsSection,
      markers: HLS_SECTION,
      write: options.write,
    });
  } finally {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
    killAllChildren();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  killAllChildren();
  process.exit(1);
});
