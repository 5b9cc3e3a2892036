/**
 * One relay fan-out run (N viewers of one publisher on a fresh server), shared by bench:relay
 * and bench:sfu (which compares the SFU with the relay in the same run).
 */
import { boxLoad1m, readCpuMs, readRssBytes } from '../common/processes';
import { sleep } from '../common/run';
import type { FrameSpec } from './frames';
import type { RelayTarget } from './ipc';
import { measureWindow } from './measure';
import { RelayWorker, startRelayServer, type RelayServer } from './processes';
import type { RelayRun, WindowMeasure } from './report';

const RSS_SAMPLE_MS = 250;
const CLEAN_WINDOW = 1;
const THROTTLED_WINDOW = 2;
/** How long the throttled viewer reads again before its window-2 frames are counted. */
const RESUME_DRAIN_MS = 4000;

export interface Options {
  sizes: number[];
  workers: number;
  windowMs: number;
  warmupMs: number;
  drainMs: number;
  throttleAt: number | null;
  throttleSettleMs: number;
  targets: RelayTarget[];
  spec: FrameSpec;
  maxMinutes: number;
  write: boolean;
}

export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

export async function runOne(
  target: RelayTarget,
  size: number,
  options: Options,
): Promise<RelayRun> {
  const withThrottled = options.throttleAt === size;
  const run: RelayRun = {
    target,
    viewers: size,
    setupFailures: 0,
    setupErrors: [],
    clean: null,
    throttled: null,
    serverPeakRssBytes: null,
    boxLoad1m: boxLoad1m(),
    error: null,
  };
  const log = (text: string) => console.log(`[${target} ${size}] ${text}`);
  let server: RelayServer | null = null;
  const workers: RelayWorker[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    server = await startRelayServer(target);
    const pid = server.pid;
    let peak = 0;
    sampler = setInterval(() => {
      peak = Math.max(peak, readRssBytes(pid) ?? 0);
    }, RSS_SAMPLE_MS);
    const publisher = new RelayWorker('publisher');
    workers.push(publisher);
    const { roomId } = await publisher.request(
      { type: 'init_publisher', target, url: server.url, spec: options.spec },
      'publisher_ready',
      20_000,
    );
    const shares = split(size, options.workers).filter((n) => n > 0);
    const groups = shares.map((_, i) => new RelayWorker(`viewers-${i}`));
    workers.push(...groups);
    const ready = await Promise.all(
      groups.map((group, i) =>
        group.request(
          {
            type: 'init_viewers',
            target,
            url: server!.url,
            roomId,
            count: shares[i]!,
            throttled: withThrottled && i === 0 ? 1 : 0,
            concurrency: 16,
            requestTimeoutMs: 20_000,
          },
          'viewers_ready',
          60_000 + size * 100,
        ),
      ),
    );
    for (const r of ready) {
      run.setupFailures += r.failed;
      for (const e of r.errors) if (!run.setupErrors.includes(e)) run.setupErrors.push(e);
    }
    log(
      `${size - run.setupFailures}/${size} viewers subscribed` +
        (run.setupErrors.length ? ` (${run.setupErrors.join('; ')})` : ''),
    );
    if (run.setupFailures === size) throw new Error(`no viewer subscribed: ${run.setupErrors[0]}`);
    await sleep(options.warmupMs);

    const window = async (
      windowId: number,
      hasThrottled: boolean,
      beforeCollect?: () => Promise<void>,
    ): Promise<WindowMeasure> => {
      await server!.probe();
      const cpuBefore = readCpuMs(pid);
      const startedAt = Date.now();
      await publisher.request({ type: 'window', windowId }, 'window_done', 5000);
      await sleep(options.windowMs);
      const { result: sent } = await publisher.request(
        { type: 'window', windowId: 0 },
        'window_done',
        5000,
      );
      const cpuAfter = readCpuMs(pid);
      const elapsed = Date.now() - startedAt;
      const rss = readRssBytes(pid);
      const loop = await server!.probe();
      await sleep(options.drainMs);
      await beforeCollect?.();
      const collected = await Promise.all(
        groups.map((g) => g.request({ type: 'collect', windowId }, 'collected', 10_000)),
      );
      const measure = measureWindow(
        sent,
        collected.map((c) => c.result),
        {
          serverCpuPct:
            cpuBefore !== null && cpuAfter !== null
              ? ((cpuAfter - cpuBefore) / elapsed) * 100
              : null,
          serverRssBytes: rss,
          hasThrottled,
        },
      );
      measure.serverLoopDelayP99Ms = loop?.loopDelayP99Ms ?? null;
      measure.serverLoopDelayMaxMs = loop?.loopDelayMaxMs ?? null;
      log(
        `window ${windowId}: video ${measure.deliveredVideoPct.toFixed(2)} %, audio ` +
          `${measure.deliveredAudioPct.toFixed(2)} %, ${measure.deliveredMbpsTotal.toFixed(1)} Mbit/s ` +
          `(${measure.deliveredMbpsPerViewer.toFixed(2)}/viewer), latency p50 ${measure.latency.p50.toFixed(1)} ` +
          `p99 ${measure.latency.p99.toFixed(1)} ms, server CPU ${measure.serverCpuPct?.toFixed(0)} %, server loop lag p99 ` +
          `${measure.serverLoopDelayP99Ms?.toFixed(1)} max ${measure.serverLoopDelayMaxMs?.toFixed(1)} ms, RSS ` +
          `${((rss ?? 0) / 1024 ** 2).toFixed(0)} MB, client loop lag p99 ${measure.workerLoopDelayP99Ms.toFixed(1)} ms, viewer workers CPU ` +
          `${measure.workerCpuPct.toFixed(0)} %` +
          (measure.disconnects ? `, ${measure.disconnects} viewer disconnects so far` : '') +
          (hasThrottled
            ? `; throttled viewer got ${measure.throttledVideoPct?.toFixed(1)} % video / ` +
              `${measure.throttledAudioPct?.toFixed(1)} % audio` +
              (measure.throttledDisconnected ? ' and was disconnected' : '')
            : ''),
      );
      return measure;
    };

    run.clean = await window(CLEAN_WINDOW, withThrottled);
    if (withThrottled) {
      const { sockets } = await groups[0]!.request(
        { type: 'throttle', paused: true },
        'throttled',
        5000,
      );
      if (sockets !== 1) throw new Error(`could not pause the throttled viewer (${sockets})`);
      log(`throttled viewer stopped reading; ${options.throttleSettleMs / 1000} s to fill buffers`);
      await sleep(options.throttleSettleMs);
      // After the window: let it read again, so what it finally gets shows the drop policy
      // (video deltas dropped until a keyframe, audio kept) rather than just "nothing yet".
      run.throttled = await window(THROTTLED_WINDOW, true, async () => {
        await groups[0]!.request({ type: 'throttle', paused: false }, 'throttled', 5000);
        await sleep(RESUME_DRAIN_MS);
      });
    }
    run.serverPeakRssBytes = peak;
  } catch (error) {
    run.error = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`FAILED: ${run.error}`);
    if (server?.stderrTail.length) log(`server stderr:\n${server.stderrTail.join('\n')}`);
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((w) => w.close()));
    await server?.stop();
  }
  return run;
}
