/**
 * `npm run bench:sfu [-- --sizes 25,50,100,150 --window 10 --kbps 2500]`
 *
 * SFU fan-out: one publisher at 720p30-sized frames (bench:relay's sizes, 2.5 Mbit/s) to N SFU
 * viewers on the real server, with real WebRTC on every connection (node-datachannel clients:
 * ICE, DTLS, SRTP), against the WebSocket relay at the same N and bitrate in the same run.
 * Reports delivered whole frames, server CPU (viewers per core) and server memory per SFU viewer.
 * Writes bench/results/sfu-<time>.json and the bench:sfu section of BENCHMARKS.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import type { AckResult, SfuAnswer } from '../../shared/index';
import { PublisherClient, rtpPacket } from '../../test/support/webrtc-client';
import { boxLoad1m, readCpuMs, readRssBytes, track } from '../common/processes';
import { machineInfo, type MachineInfo } from '../common/report';
import {
  commandLine,
  reportDate,
  runMain,
  sleep,
  startDeadline,
  writeResults,
} from '../common/run';
import { DEFAULT_FRAME_SPEC, type FrameSpec } from '../relay/frames';
import { runOne } from '../relay/fanout';
import { startRelayServer } from '../relay/processes';
import type { RelayRun } from '../relay/report';
import {
  framePayloads,
  videoFrameBytes,
  type SfuParentToWorker,
  type SfuWorkerToParent,
  type ViewerTally,
} from './media';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECTION = { start: '<!-- bench:sfu:start -->', end: '<!-- bench:sfu:end -->' };

interface Options {
  sizes: number[];
  workers: number;
  windowMs: number;
  warmupMs: number;
  spec: FrameSpec;
  relay: boolean;
  maxMinutes: number;
  write: boolean;
}

interface SfuRun {
  viewers: number;
  setupFailures: number;
  setupErrors: string[];
  sentFrames: number;
  deliveredPct: number;
  worstViewerPct: number;
  latencyP50Ms: number | null;
  serverCpuPct: number | null;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  boxLoad1m: number;
  error: string | null;
}

interface SfuReport {
  date: string;
  machine: MachineInfo;
  command: string;
  settings: { windowMs: number; warmupMs: number; workers: number; kbps: number };
  sfu: SfuRun[];
  relay: RelayRun[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '25,50,100,150' },
      workers: { type: 'string', default: '2' },
      window: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      kbps: { type: 'string', default: '2500' },
      'no-relay': { type: 'boolean', default: false },
      'max-minutes': { type: 'string', default: '25' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const n = (text: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`bad number ${text}`);
    return value;
  };
  return {
    sizes: values.sizes.split(',').map((s) => Math.round(n(s))),
    workers: Math.round(n(values.workers)),
    windowMs: n(values.window) * 1000,
    warmupMs: n(values.warmup) * 1000,
    spec: { ...DEFAULT_FRAME_SPEC, totalKbps: n(values.kbps) },
    relay: !values['no-relay'],
    maxMinutes: n(values['max-minutes']),
    write: !values['no-write'],
  };
}

class ViewerWorker {
  readonly #child: ChildProcess;
  readonly #replies = new Map<string, (m: SfuWorkerToParent) => void>();
  readonly started: Promise<void>;

  constructor() {
    this.#child = track(
      fork(path.join(HERE, 'worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.started = new Promise((resolve) => this.#replies.set('started', () => resolve()));
    this.#child.on('message', (m: SfuWorkerToParent) => {
      const reply = this.#replies.get(m.type === 'fatal' ? 'ready' : m.type);
      this.#replies.delete(m.type);
      reply?.(m);
    });
  }

  async ask<T extends SfuWorkerToParent['type']>(
    message: SfuParentToWorker,
    reply: T,
    timeoutMs: number,
  ): Promise<Extract<SfuWorkerToParent, { type: T }>> {
    await this.started;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${reply} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#replies.set(reply, (m) => {
        clearTimeout(timer);
        if (m.type === 'fatal') reject(new Error(m.message));
        else resolve(m as Extract<SfuWorkerToParent, { type: T }>);
      });
      this.#child.send(message);
    });
  }

  close(): void {
    if (this.#child.connected) this.#child.send({ type: 'close' } satisfies SfuParentToWorker);
    setTimeout(() => this.#child.kill('SIGKILL'), 3000).unref();
  }
}

function ack<T>(socket: Socket, event: string, payload: unknown, timeoutMs = 10_000) {
  return new Promise<AckResult<T>>((resolve, reject) => {
    socket
      .timeout(timeoutMs)
      .emit(event, payload, (err: Error | null, result: AckResult<T>) =>
        err ? reject(err) : resolve(result),
      );
  });
}

/** The broadcaster: a room, and the upstream published when the server asks (sfu_demand). */
async function broadcast(
  url: string,
): Promise<{ socket: Socket; roomId: string; pub: () => PublisherClient | null }> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve) => socket.once('welcome', () => resolve()));
  const created = await ack<{ roomId: string }>(socket, 'create_room', {});
  if (!created.ok) throw new Error(`create_room: ${created.error.code}`);
  let publisher: PublisherClient | null = null;
  socket.on('sfu_demand', async (demand: { active: boolean }) => {
    if (!demand.active || publisher) return;
    const pub = new PublisherClient();
    const answer = await ack<SfuAnswer>(socket, 'sfu_publish', { sdp: await pub.offer() });
    if (!answer.ok) throw new Error(`sfu_publish: ${answer.error.code}`);
    await pub.accept(answer.data.sdp);
    publisher = pub;
  });
  return { socket, roomId: created.data.roomId, pub: () => publisher };
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runSfu(size: number, options: Options): Promise<SfuRun> {
  const run: SfuRun = {
    viewers: size,
    setupFailures: 0,
    setupErrors: [],
    sentFrames: 0,
    deliveredPct: 0,
    worstViewerPct: 0,
    latencyP50Ms: null,
    serverCpuPct: null,
    rssBeforeBytes: null,
    rssAfterBytes: null,
    boxLoad1m: boxLoad1m(),
    error: null,
  };
  const log = (text: string) => console.log(`[sfu ${size}] ${text}`);
  const server = await startRelayServer('roomcast', { MAX_SFU_VIEWERS: '100000' });
  const workers: ViewerWorker[] = [];
  let ticker: NodeJS.Timeout | undefined;
  const room = await broadcast(server.url);
  try {
    await sleep(500);
    run.rssBeforeBytes = readRssBytes(server.pid);
    const shares = Array.from(
      { length: options.workers },
      (_, i) => Math.floor(size / options.workers) + (i < size % options.workers ? 1 : 0),
    ).filter((n) => n > 0);
    for (const _ of shares) workers.push(new ViewerWorker());
    // The publisher sends from the first demand on (window 0 = not counted).
    const sizes = videoFrameBytes(options.spec);
    let frame = 0;
    let window = 0;
    let plis = 0;
    let sentInWindow = 0;
    let seq = 1;
    let audioSeq = 1;
    ticker = setInterval(() => {
      const pub = room.pub();
      if (!pub) return;
      const asked = pub.feedbackCount(206, 1);
      const keyframe = frame % sizes.perGop === 0 || asked > plis;
      plis = asked;
      const now = Date.now();
      const payloads = framePayloads(
        keyframe ? sizes.key : sizes.delta,
        keyframe,
        frame,
        window,
        now,
      );
      payloads.forEach((payload, i) =>
        pub.video.sendMessageBinary(
          rtpPacket({
            payloadType: 102,
            sequence: seq++,
            timestamp: frame * 3000,
            ssrc: pub.videoSsrc,
            marker: i === payloads.length - 1,
            payload,
          }),
        ),
      );
      // Opus-sized audio: 50 packets/s of 160 B (one or two per video frame).
      for (let a = 0; a < (frame % 3 === 2 ? 1 : 2); a++) {
        pub.audio.sendMessageBinary(
          rtpPacket({
            payloadType: 111,
            sequence: audioSeq++,
            timestamp: audioSeq * 960,
            ssrc: pub.audioSsrc,
            payload: Buffer.alloc(160),
          }),
        );
      }
      if (window !== 0) sentInWindow++;
      frame++;
    }, 1000 / options.spec.videoFps);
    const ready = await Promise.all(
      workers.map((w, i) =>
        w.ask(
          { type: 'init', url: server.url, roomId: room.roomId, count: shares[i]! },
          'ready',
          60_000 + size * 500,
        ),
      ),
    );
    for (const r of ready) {
      run.setupFailures += r.failed;
      for (const e of r.errors) if (!run.setupErrors.includes(e)) run.setupErrors.push(e);
    }
    log(
      `${size - run.setupFailures}/${size} SFU viewers connected${run.setupErrors.length ? ` (${run.setupErrors.join('; ')})` : ''}`,
    );
    await sleep(options.warmupMs);
    const cpuBefore = readCpuMs(server.pid);
    const startedAt = Date.now();
    window = 1;
    sentInWindow = 0;
    await sleep(options.windowMs);
    window = 0;
    const elapsed = Date.now() - startedAt;
    const cpuAfter = readCpuMs(server.pid);
    run.rssAfterBytes = readRssBytes(server.pid);
    run.sentFrames = sentInWindow;
    await sleep(1500);
    const tallies: ViewerTally[] = (
      await Promise.all(
        workers.map((w) => w.ask({ type: 'collect', window: 1 }, 'collected', 10_000)),
      )
    ).map((c) => c.tally);
    const viewers = tallies.reduce((s, t) => s + t.viewers, 0);
    const frames = tallies.reduce((s, t) => s + t.frames, 0);
    const perViewer = tallies.flatMap((t) => t.perViewer);
    run.deliveredPct = viewers > 0 ? (frames / (sentInWindow * viewers)) * 100 : 0;
    run.worstViewerPct = perViewer.length ? (Math.min(...perViewer) / sentInWindow) * 100 : 0;
    run.latencyP50Ms = percentile(
      tallies.flatMap((t) => t.latencies),
      50,
    );
    run.serverCpuPct =
      cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) / elapsed) * 100 : null;
    log(
      `delivered ${run.deliveredPct.toFixed(2)} % of ${sentInWindow} frames (worst viewer ${run.worstViewerPct.toFixed(1)} %), ` +
        `send→receive p50 ${run.latencyP50Ms ?? '–'} ms, server CPU ${run.serverCpuPct?.toFixed(0)} %, RSS ` +
        `${((run.rssBeforeBytes ?? 0) / 2 ** 20).toFixed(0)} → ${((run.rssAfterBytes ?? 0) / 2 ** 20).toFixed(0)} MB`,
    );
  } catch (error) {
    run.error = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`FAILED: ${run.error}`);
  } finally {
    clearInterval(ticker);
    for (const w of workers) w.close();
    room.pub()?.close();
    room.socket.disconnect();
    await sleep(500);
    await server.stop();
  }
  return run;
}

const fmt = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);

/** Viewers per core at the largest size that still delivered ≥ 99 %. */
function capacity(rows: Array<{ viewers: number; pct: number; cpu: number | null }>): string {
  const ok = rows.filter((r) => r.pct >= 99 && r.cpu !== null && r.cpu > 0);
  const best = ok.sort((a, b) => b.viewers - a.viewers)[0];
  if (!best) return 'none of the sizes delivered ≥ 99 %';
  const beyond = rows.find((r) => r.viewers > best.viewers && r.pct < 99);
  return (
    `${fmt(best.viewers / (best.cpu! / 100), 0)} viewers per core (${best.viewers} viewers at ` +
    `${fmt(best.cpu, 0)} % of a core)` +
    (beyond ? `; below 99 % at ${beyond.viewers}` : '; ≥ 99 % at every size tried')
  );
}

function render(report: SfuReport, rawPath: string): string {
  const m = report.machine;
  const lines = [
    SECTION.start,
    '## SFU fan-out against the WebSocket relay (issue 13)',
    '',
    `- Command: \`${report.command}\``,
    `- Date: ${report.date}. Machine: ${m.nproc} × ${m.cpuModel}, ${m.ramGiB} GiB, Node ${m.node}. Server, publisher and viewer processes share the box; other helpers were loading it too (box load at each start below).`,
    `- Media: one publisher, 30 video frames/s with a keyframe every second (bench:relay's frame sizes) + 50 Opus-sized audio packets/s, ${report.settings.kbps} kbit/s in all. SFU: RTP over real WebRTC (node-datachannel clients, DTLS-SRTP per viewer), ${report.settings.workers} viewer processes. Relay: bench:relay's socket.io viewers. ${report.settings.windowMs / 1000} s window after ${report.settings.warmupMs / 1000} s warm-up; "delivered" = whole video frames received ÷ (frames sent × viewers).`,
    '',
    '| Viewers | SFU delivered | SFU worst viewer | SFU server CPU | SFU RSS before → after | MB per SFU viewer | Relay delivered | Relay server CPU | Box load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const sfu of report.sfu) {
    const relay = report.relay.find((r) => r.viewers === sfu.viewers);
    const mb = (b: number | null) => (b === null ? '–' : (b / 2 ** 20).toFixed(0));
    const perViewer =
      sfu.rssBeforeBytes !== null && sfu.rssAfterBytes !== null
        ? (
            (sfu.rssAfterBytes - sfu.rssBeforeBytes) /
            2 ** 20 /
            Math.max(1, sfu.viewers - sfu.setupFailures)
          ).toFixed(2)
        : '–';
    lines.push(
      `| ${sfu.viewers}${sfu.error ? ` (failed: ${sfu.error})` : sfu.setupFailures ? ` (${sfu.setupFailures} not connected)` : ''} | ${fmt(sfu.deliveredPct, 2)} % | ${fmt(sfu.worstViewerPct)} % | ` +
        `${fmt(sfu.serverCpuPct, 0)} % | ${mb(sfu.rssBeforeBytes)} → ${mb(sfu.rssAfterBytes)} MB | ${perViewer} | ` +
        `${relay?.clean ? `${fmt(relay.clean.deliveredVideoPct, 2)} %` : relay?.error ? `failed: ${relay.error}` : '–'} | ` +
        `${relay?.clean ? `${fmt(relay.clean.serverCpuPct, 0)} %` : '–'} | ${fmt(sfu.boxLoad1m)} |`,
    );
  }
  lines.push('');
  lines.push(
    `- SFU: ${capacity(report.sfu.map((r) => ({ viewers: r.viewers, pct: r.deliveredPct, cpu: r.serverCpuPct })))}.`,
  );
  lines.push(
    `- WebSocket relay, same run: ${capacity(report.relay.map((r) => ({ viewers: r.viewers, pct: r.clean?.deliveredVideoPct ?? 0, cpu: r.clean?.serverCpuPct ?? null })))}.`,
  );
  lines.push('');
  lines.push(`Raw results: \`${rawPath}\``);
  lines.push(SECTION.end);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  startDeadline(options.maxMinutes);
  const startedAt = new Date();
  const sfu: SfuRun[] = [];
  const relay: RelayRun[] = [];
  for (const size of options.sizes) {
    sfu.push(await runSfu(size, options));
    if (options.relay) {
      relay.push(
        await runOne('roomcast', size, {
          sizes: options.sizes,
          workers: options.workers,
          windowMs: options.windowMs,
          warmupMs: options.warmupMs,
          drainMs: 1500,
          throttleAt: null,
          throttleSettleMs: 0,
          targets: ['roomcast'],
          spec: options.spec,
          maxMinutes: options.maxMinutes,
          write: false,
        }),
      );
    }
  }
  const report: SfuReport = {
    date: reportDate(startedAt),
    machine: machineInfo(),
    command: commandLine('bench:sfu', argv),
    settings: {
      windowMs: options.windowMs,
      warmupMs: options.warmupMs,
      workers: options.workers,
      kbps: options.spec.totalKbps,
    },
    sfu,
    relay,
  };
  await writeResults({
    prefix: 'sfu',
    startedAt,
    report,
    render,
    markers: SECTION,
    write: options.write,
  });
  // The WebRTC library's threads would keep this process alive.
  process.exit(0);
}

runMain(main);
