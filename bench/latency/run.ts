/**
 * `npm run bench:latency [-- --paths bare,direct,turn,relay --seconds 10 --joins 3]`
 *
 * Glass-to-glass latency per media path in headless Chromium, with a bare RTCPeerConnection
 * pair on the same clock-stamped canvas as the floor, in one run. Starts a real coturn (test
 * config) and the real server with TURN configured; builds the client into a temp dir first
 * (unless --no-build). Writes bench/results/latency-<time>.json and the bench:latency section
 * of BENCHMARKS.md.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startCoturn, type Coturn } from '../../test/support/coturn';
import { chromiumArgs } from '../../e2e/chromium-args';
import { boxLoad1m as readBoxLoad1m, killAllChildren } from '../common/processes';
import { buildClient } from '../common/build-client';
import { machineInfo } from '../common/report';
import { commandLine, reportDate, sleep, writeResults } from '../common/run';
import { startRelayServer, type RelayServer } from '../relay/processes';
import {
  bareReceiverAnswer,
  bareReceiverInfo,
  bareSenderAnswer,
  bareSenderOffer,
  benchInitScript,
  readBenchState,
} from './page-scripts';
import { firefoxAvailable } from '../../e2e/firefox/launch';
import {
  goLiveIn,
  measureCell,
  relayCodecOf,
  startFirefox,
  type BrowserCell,
  type BrowserMatrix,
  type MatrixPath,
} from './browsers';
import { LATENCY_SECTION, renderLatencySection, type LatencyReport } from './report';
import {
  LATENCY_PATHS,
  summarize,
  type JoinResult,
  type LatencyPath,
  type PathResult,
} from './stats';

const CHROMIUM = '/usr/bin/chromium';
const QUALITY = '720p30';
const BARE_CODEC = 'video/AV1';
const BARE_MAX_KBPS = 2500;
const FIRST_FRAME_TIMEOUT_MS = 30_000;
const BLANK_PATH = '/__bench/blank';

interface Options {
  paths: LatencyPath[];
  seconds: number;
  joins: number;
  codec: string;
  build: boolean;
  write: boolean;
  maxMinutes: number;
  /** Also measure direct and relay with Firefox viewers and a Firefox broadcaster. */
  firefox: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      paths: { type: 'string', default: LATENCY_PATHS.join(',') },
      seconds: { type: 'string', default: '10' },
      joins: { type: 'string', default: '3' },
      codec: { type: 'string', default: 'auto' },
      quick: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      'max-minutes': { type: 'string', default: '20' },
      firefox: { type: 'boolean', default: firefoxAvailable() },
      'no-firefox': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx bench/latency/run.ts [--paths bare,direct,turn,sfu,relay] [--seconds 10] [--joins 3]\n' +
        '  [--codec auto|AV1|VP9|H264|VP8] [--quick] [--no-build] [--no-write] [--max-minutes 20]\n' +
        '  [--no-firefox]  (default: also Firefox viewers and a Firefox broadcaster on direct/relay)\n' +
        '  --seconds = sampling time per join; --no-build serves dist/client as it is.',
    );
    process.exit(0);
  }
  const paths = values.paths.split(',').map((p) => p.trim());
  for (const p of paths) {
    if (!(LATENCY_PATHS as readonly string[]).includes(p)) throw new Error(`unknown path ${p}`);
  }
  const number = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be > 0`);
    return value;
  };
  return {
    paths: paths as LatencyPath[],
    seconds: values.quick ? 4 : number('seconds', values.seconds),
    joins: values.quick ? 1 : Math.round(number('joins', values.joins)),
    codec: values.codec,
    build: !values['no-build'],
    write: !values['no-write'],
    maxMinutes: number('max-minutes', values['max-minutes']),
    firefox: values.firefox && !values['no-firefox'],
  };
}

async function newContext(
  browser: Browser,
  baseURL: string,
  role: 'source' | 'viewer',
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: benchInitScript(role) });
  await context.route(`**${BLANK_PATH}`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><title>bench</title><body></body>',
    }),
  );
  return context;
}

/** Opens the broadcast page with the clock canvas as its camera and goes live. */
async function goLive(
  browser: Browser,
  baseURL: string,
  codec: string,
): Promise<{ page: Page; room: string; close: () => Promise<void> }> {
  const context = await newContext(browser, baseURL, 'source');
  const page = await context.newPage();
  await page.goto('/broadcast');
  await page.getByTestId('source-camera').click();
  await page.getByTestId('quality-select').selectOption(QUALITY);
  await page.getByTestId('codec-select').selectOption(codec);
  await page.getByTestId('go-live').click();
  const roomCode = page.getByTestId('room-code');
  await roomCode.filter({ hasText: /\d{6}/ }).waitFor({ timeout: 20_000 });
  return { page, room: (await roomCode.innerText()).trim(), close: () => context.close() };
}

async function waitForFirstFrame(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      (window as unknown as { __bench?: { firstFrameAt: number | null } }).__bench?.firstFrameAt,
    null,
    { timeout: FIRST_FRAME_TIMEOUT_MS, polling: 50 },
  );
}

function joinFromState(
  state: Awaited<ReturnType<typeof readBenchState>>,
  info: { observedPath: string; codec: string; reason: string },
): { join: JoinResult; samples: number[] } {
  const firstFrameMs =
    state?.firstFrameAt !== null && state?.firstFrameAt !== undefined && state.clickAt !== null
      ? state.firstFrameAt - state.clickAt
      : null;
  return {
    join: {
      firstFrameMs,
      samples: state?.samples.length ?? 0,
      frames: state?.frames ?? 0,
      badReads: state?.badReads ?? 0,
      videoSize: state?.videoSize ?? '',
      ...info,
      error: null,
    },
    samples: state?.samples ?? [],
  };
}

function failedJoin(error: unknown): JoinResult {
  return {
    firstFrameMs: null,
    samples: 0,
    frames: 0,
    badReads: 0,
    videoSize: '',
    observedPath: '',
    codec: '',
    reason: '',
    error: error instanceof Error ? error.message.split('\n')[0]! : String(error),
  };
}

async function measureBare(browser: Browser, baseURL: string, seconds: number) {
  const senderContext = await newContext(browser, baseURL, 'source');
  const receiverContext = await newContext(browser, baseURL, 'viewer');
  try {
    const sender = await senderContext.newPage();
    const receiver = await receiverContext.newPage();
    await sender.goto(BLANK_PATH);
    await receiver.goto(BLANK_PATH);
    const offer = await sender.evaluate(bareSenderOffer, {
      codecMime: BARE_CODEC,
      maxBitrateKbps: BARE_MAX_KBPS,
    });
    const answer = await receiver.evaluate(bareReceiverAnswer, offer);
    await sender.evaluate(bareSenderAnswer, answer);
    await waitForFirstFrame(receiver);
    await sleep(seconds * 1000);
    const state = await receiver.evaluate(readBenchState);
    const info = await receiver.evaluate(bareReceiverInfo);
    return joinFromState(state, {
      observedPath: `bare (${info.candidateType})`,
      codec: info.codec,
      reason: '',
    });
  } finally {
    await senderContext.close();
    await receiverContext.close();
  }
}

async function measureAppJoin(
  browser: Browser,
  baseURL: string,
  room: string,
  path_: Exclude<LatencyPath, 'bare'>,
  seconds: number,
) {
  const context = await newContext(browser, baseURL, 'viewer');
  try {
    const page = await context.newPage();
    await page.goto('/');
    await page.getByTestId('join-room-input').waitFor();
    const href = `/watch/${room}${path_ === 'direct' ? '' : `?path=${path_}`}`;
    await page.evaluate((target) => {
      const anchor = document.createElement('a');
      anchor.id = 'bench-join';
      anchor.href = target;
      anchor.textContent = 'join';
      anchor.addEventListener('click', () =>
        (window as unknown as { __benchMarkClick(): void }).__benchMarkClick(),
      );
      document.body.prepend(anchor);
    }, href);
    await page.click('#bench-join');
    await waitForFirstFrame(page);
    await sleep(seconds * 1000);
    const state = await page.evaluate(readBenchState);
    const pathCell = page.getByTestId('connection-path');
    const codecCell = page.getByTestId('negotiated-codec');
    const reasonCell = page.getByTestId('connection-reason');
    const attr = async (locator: typeof pathCell, name: string) =>
      (await locator.count()) > 0 ? ((await locator.first().getAttribute(name)) ?? '') : '';
    const observedPath = await attr(pathCell, 'data-path');
    const codec = await attr(codecCell, 'data-codec');
    const reason =
      (await reasonCell.count()) > 0 ? (await reasonCell.first().innerText()).trim() : '';
    const measured = joinFromState(state, { observedPath, codec, reason });
    // A join that landed on another path than asked is not a sample of this path.
    if (observedPath !== path_) {
      measured.join.error = `asked for ${path_}, the page shows ${observedPath || 'no path'}`;
    }
    return measured;
  } finally {
    await context.close();
  }
}

let cleanup: Array<() => Promise<void>> = [];
/** Set on Ctrl-C or the time limit: no further joins, and no results written. */
let stopping = false;

async function runCleanup(): Promise<void> {
  const steps = cleanup.reverse();
  cleanup = [];
  for (const step of steps) await step().catch(() => {});
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const command = commandLine('bench:latency', argv);
  const deadline = setTimeout(() => {
    console.error(`bench exceeded --max-minutes ${options.maxMinutes}; stopping`);
    stopping = true;
    void runCleanup().finally(() => {
      killAllChildren();
      process.exit(2);
    });
  }, options.maxMinutes * 60_000);
  deadline.unref();
  const startedAt = new Date();
  const boxLoad1m = readBoxLoad1m();

  const serverEnv: Record<string, string> = {};
  if (options.build) {
    const dir = buildClient();
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    serverEnv.CLIENT_DIR = dir;
  }
  let coturn: Coturn | null = null;
  if (options.paths.includes('turn')) {
    coturn = await startCoturn();
    const started = coturn;
    cleanup.push(() => started.stop());
    serverEnv.TURN_URLS = coturn.urls.join(',');
    serverEnv.TURN_SECRET = coturn.secret;
  }
  const server: RelayServer = await startRelayServer('roomcast', serverEnv);
  cleanup.push(() => server.stop());
  const baseURL = server.url.replace('127.0.0.1', 'localhost');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: chromiumArgs,
    headless: true,
  });
  cleanup.push(() => browser.close());
  const chromiumVersion = `Chromium ${browser.version()}`;
  console.log(
    `${chromiumVersion}; server ${baseURL}${coturn ? `; coturn ${coturn.urls.join(' ')}` : ''}`,
  );

  const appPaths = options.paths.filter((p): p is Exclude<LatencyPath, 'bare'> => p !== 'bare');
  let room: string | null = null;
  let stopChromiumBroadcast: (() => Promise<void>) | null = null;
  if (appPaths.length > 0 || options.firefox) {
    const live = await goLive(browser, baseURL, options.codec);
    room = live.room;
    stopChromiumBroadcast = live.close;
    console.log(`broadcasting in room ${room}`);
    await sleep(1000);
  }

  const results: PathResult[] = [];
  for (const p of options.paths) {
    const joins: JoinResult[] = [];
    const samples: number[] = [];
    for (let i = 0; i < options.joins; i++) {
      if (stopping) return;
      try {
        const measured =
          p === 'bare'
            ? await measureBare(browser, baseURL, options.seconds)
            : await measureAppJoin(browser, baseURL, room!, p, options.seconds);
        joins.push(measured.join);
        if (!measured.join.error) samples.push(...measured.samples);
        const s = summarize(measured.samples);
        console.log(
          `[${p} #${i + 1}]${measured.join.error ? ` NOT COUNTED (${measured.join.error})` : ''} first frame ${measured.join.firstFrameMs?.toFixed(0) ?? '–'} ms; ` +
            `p50 ${s.p50.toFixed(1)} p95 ${s.p95.toFixed(1)} ms over ${s.count} frames ` +
            `(${measured.join.badReads} unreadable of ${measured.join.frames}); path ${measured.join.observedPath || '?'}, ` +
            `codec ${measured.join.codec || '?'}, ${measured.join.videoSize}` +
            (measured.join.reason ? `; reason "${measured.join.reason}"` : ''),
        );
      } catch (error) {
        const failed = failedJoin(error);
        joins.push(failed);
        console.log(`[${p} #${i + 1}] FAILED: ${failed.error}`);
      }
    }
    const firstFrames = joins
      .filter((j) => !j.error)
      .map((j) => j.firstFrameMs)
      .filter((v): v is number => v !== null);
    results.push({
      path: p,
      latency: summarize(samples),
      joins,
      firstFrame: summarize(firstFrames),
    });
  }
  let browsersMatrix: BrowserMatrix | undefined;
  if (options.firefox && room && !stopping) {
    browsersMatrix = await measureFirefox(
      browser,
      baseURL,
      room,
      stopChromiumBroadcast!,
      results,
      options,
    );
  }
  await runCleanup();
  if (stopping) return;

  const report: LatencyReport = {
    date: reportDate(startedAt),
    machine: machineInfo(),
    command,
    chromium: chromiumVersion,
    settings: {
      seconds: options.seconds,
      joins: options.joins,
      quality: QUALITY,
      codec: options.codec,
    },
    boxLoad1m,
    results,
    ...(browsersMatrix ? { browsers: browsersMatrix } : {}),
  };
  await writeResults({
    prefix: 'latency',
    startedAt,
    report,
    render: renderLatencySection,
    markers: LATENCY_SECTION,
    write: options.write,
  });
  if (results.some((r) => r.joins.some((j) => j.error))) process.exitCode = 1;
  if (browsersMatrix?.cells.some((c) => c.joins.some((j) => j.error))) process.exitCode = 1;
}

const MATRIX_PATHS: readonly MatrixPath[] = ['direct', 'relay'];

/**
 * Firefox beside Chromium in the same run: Firefox viewers of the Chromium broadcast, then a
 * Firefox broadcaster (the Chromium one stops first, so only one broadcaster loads the box)
 * with Chromium and Firefox viewers. Chromium → Chromium comes from the per-path results above
 * when they were measured, else it is measured here.
 */
async function measureFirefox(
  chromiumBrowser: Browser,
  baseURL: string,
  chromiumRoom: string,
  stopChromiumBroadcast: () => Promise<void>,
  results: PathResult[],
  options: Options,
): Promise<BrowserMatrix> {
  const firefox = await startFirefox();
  cleanup.push(() => firefox.close());
  console.log(`Firefox ${firefox.version}`);
  const browsers = { chromium: chromiumBrowser, firefox, baseURL };
  const cells: BrowserCell[] = [];
  const log = (line: string) => console.log(line);
  for (const path of MATRIX_PATHS) {
    const measured = results.find((r) => r.path === path);
    if (measured) {
      cells.push({
        broadcaster: 'chromium',
        viewer: 'chromium',
        path,
        latency: measured.latency,
        firstFrame: measured.firstFrame,
        joins: measured.joins,
      });
    } else {
      const cell = { broadcaster: 'chromium', viewer: 'chromium', path } as const;
      cells.push(
        await measureCell(browsers, cell, chromiumRoom, options.joins, options.seconds, log),
      );
    }
    if (stopping) return { firefox: firefox.version, cells };
    const cell = { broadcaster: 'chromium', viewer: 'firefox', path } as const;
    cells.push(
      await measureCell(browsers, cell, chromiumRoom, options.joins, options.seconds, log),
    );
  }
  await stopChromiumBroadcast();
  const live = await goLiveIn(browsers, 'firefox', QUALITY, options.codec);
  console.log(`Firefox broadcasting in room ${live.room}`);
  await sleep(1000);
  for (const path of MATRIX_PATHS) {
    for (const viewer of ['chromium', 'firefox'] as const) {
      if (stopping) break;
      const cell = { broadcaster: 'firefox', viewer, path } as const;
      const measured = await measureCell(
        browsers,
        cell,
        live.room,
        options.joins,
        options.seconds,
        log,
      );
      if (path === 'relay') measured.relayCodec = await relayCodecOf(live.page);
      cells.push(measured);
    }
  }
  await live.page.close();
  return { firefox: firefox.version, cells };
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the browser, server and coturn`);
    stopping = true;
    void runCleanup().finally(() => {
      killAllChildren();
      process.exit(130);
    });
  });
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  await runCleanup();
  killAllChildren();
  process.exit(1);
});
