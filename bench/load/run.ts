/**
 * `npm run bench:load [-- --viewers 200 --window-s 5 --cluster --no-write]`
 *
 * Issue 5's load promise: N socket.io viewers join one room within a few seconds while it streams
 * over the relay (real H.264 + Opus chunks at 30 fps), each subscribing to the relay. Reports the
 * join-ack latency (p50/p99), errors, and the server's RSS. Baseline in the same run: the same
 * joins into a room that is not streaming, on a fresh server.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { AckResult, RelayFrame } from '../../shared/index';
import { makeRelayFrames } from '../../test/support/media-fixture';
import { publishPaced, type PacedPublisher } from '../../test/support/paced-publisher';
import { startRedis, type RedisServer } from '../../test/support/redis-server';
import { boxLoad1m, killAllChildren, readRssBytes } from '../common/processes';
import { machineInfo, type MachineInfo } from '../common/report';
import { commandLine, reportDate, sleep, writeResults } from '../common/run';
import { percentile } from '../latency/stats';
import { startRelayServer } from '../relay/processes';

export const LOAD_SECTION = { start: '<!-- bench:load:start -->', end: '<!-- bench:load:end -->' };

interface LoadRun {
  name: string;
  viewers: number;
  joined: number;
  errors: string[];
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  joinWindowMs: number;
  starved: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** Two nodes: the viewers' node (the room's node is rssBefore/After). */
  edgeRssBeforeMb?: number;
  edgeRssAfterMb?: number;
}

interface LoadReport {
  date: string;
  machine: MachineInfo;
  command: string;
  boxLoad1m: number;
  runs: LoadRun[];
}

function ack<T>(socket: Socket, event: string, payload: unknown, timeoutMs = 15_000) {
  return new Promise<AckResult<T>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeoutMs);
    socket.emit(event, payload, (r: AckResult<T>) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}

function connect(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('welcome', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** Polls /readyz: a node with REDIS_URL refuses sockets until it has joined. */
async function untilReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (
    (await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (Date.now() > deadline) throw new Error(`${url} not ready`);
    await sleep(100);
  }
}

async function runOnce(
  name: string,
  frames: RelayFrame[] | null,
  viewers: number,
  windowMs: number,
  /** Viewers connect to a second node; the room lives on the first (REDIS_URL). */
  redis?: RedisServer,
): Promise<LoadRun> {
  const clusterEnv: Record<string, string> = redis
    ? { REDIS_URL: redis.url, ROOM_SECRET: randomBytes(24).toString('base64url') }
    : {};
  const server = await startRelayServer('roomcast', {
    MAX_VIEWERS_PER_ROOM: '10000',
    ...clusterEnv,
  });
  const edge = redis
    ? await startRelayServer('roomcast', { MAX_VIEWERS_PER_ROOM: '10000', ...clusterEnv })
    : server;
  if (redis) await Promise.all([untilReady(server.url), untilReady(edge.url)]);
  const sockets: Socket[] = [];
  let publisher: PacedPublisher | null = null;
  try {
    const broadcaster = await connect(server.url);
    sockets.push(broadcaster);
    broadcaster.on('relay_demand', (d: { active: boolean }) => {
      if (d.active && frames && !publisher) {
        publisher = publishPaced(frames, (b) => broadcaster.emit('relay_chunk', b));
      }
    });
    const created = await ack<{ roomId: string }>(broadcaster, 'create_room', { relayOnly: true });
    if (!created.ok) throw new Error(created.error.code);
    const roomId = created.data.roomId;
    // A first relay subscriber starts the stream before the crowd arrives.
    if (frames) {
      const first = await connect(edge.url);
      sockets.push(first);
      await ack(first, 'join_room', { roomId });
      await ack(first, 'relay_subscribe', { reason: 'forced' });
      await sleep(2000);
    }
    const rssBefore = readRssBytes(server.pid) ?? NaN;
    const edgeRssBefore = readRssBytes(edge.pid) ?? NaN;
    const acks: number[] = [];
    const errors: string[] = [];
    const received = new Map<Socket, number>();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: viewers }, async (_, i) => {
        await sleep((i * windowMs) / viewers);
        try {
          const s = await connect(edge.url);
          sockets.push(s);
          received.set(s, 0);
          s.on('relay_chunk', () => received.set(s, (received.get(s) ?? 0) + 1));
          const start = performance.now();
          const join = await ack(s, 'join_room', { roomId });
          acks.push(performance.now() - start);
          if (!join.ok) return void errors.push(join.error.code);
          const sub = await ack(s, 'relay_subscribe', { reason: 'forced' });
          if (!sub.ok) errors.push(sub.error.code);
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
      }),
    );
    const joinWindowMs = performance.now() - t0;
    await sleep(3000);
    const rssAfter = readRssBytes(server.pid) ?? NaN;
    const edgeRssAfter = readRssBytes(edge.pid) ?? NaN;
    const starved = frames ? [...received.values()].filter((n) => n < 10).length : 0;
    return {
      name,
      viewers,
      joined: acks.length - errors.length,
      errors,
      ackP50Ms: percentile(acks, 50),
      ackP99Ms: percentile(acks, 99),
      ackMaxMs: Math.max(...acks),
      joinWindowMs,
      starved,
      rssBeforeMb: rssBefore / 2 ** 20,
      rssAfterMb: rssAfter / 2 ** 20,
      ...(redis
        ? { edgeRssBeforeMb: edgeRssBefore / 2 ** 20, edgeRssAfterMb: edgeRssAfter / 2 ** 20 }
        : {}),
    };
  } finally {
    (publisher as PacedPublisher | null)?.stop();
    for (const s of sockets) s.disconnect();
    await server.stop();
    if (edge !== server) await edge.stop();
  }
}

function render(report: LoadReport, rawJsonPath: string): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const m = report.machine;
  const lines = [
    LOAD_SECTION.start,
    '## Load: viewers joining one room that streams over the relay (issue 5)',
    '',
    `- Command: \`${report.command}\``,
    `- Date: ${report.date}; box load (1 min) at start ${report.boxLoad1m.toFixed(1)}`,
    `- Machine: ${m.nproc} × ${m.cpuModel}, ${m.ramGiB} GiB RAM, ${m.kernel}, Node ${m.node}. The server (\`server/index.ts\`, LOG_LEVEL=warn) is its own process; every client is a socket.io-client (websocket) in the bench process on the same box.`,
    '- Streaming: a relay-only room whose broadcaster sends real H.264 + Opus chunks (an ffmpeg-made 320×180 test pattern) at 30 fps; each viewer joins, then `relay_subscribe`s. Join ack = `join_room` emit → ack. Baseline (same run, fresh server): the same joins into a room that is not streaming. "Starved" = viewers that got < 10 chunks in the 3 s after the last join.',
    '',
    "- Two nodes (`--cluster`): the room and its broadcaster on node A, every viewer connected to node B, both joined through a real `redis-server` (REDIS_URL): each join is forwarded to A over the node bus, and the relay chunks cross Redis once to B's mirror hub. Same streaming load; compare with the one-node streaming row.",
    '',
    '| Run | Viewers | Joined | Errors | Join window (s) | Join ack p50 / p99 / max (ms) | Starved | Server RSS before → after (MB) |',
    '|---|---:|---:|---|---:|---:|---:|---:|',
  ];
  for (const r of report.runs) {
    lines.push(
      `| ${r.name} | ${r.viewers} | ${r.joined} | ${r.errors.length ? r.errors.slice(0, 3).join(', ') : '0'} | ${(r.joinWindowMs / 1000).toFixed(1)} | ${f(r.ackP50Ms)} / ${f(r.ackP99Ms)} / ${f(r.ackMaxMs)} | ${r.starved} | ${f(r.rssBeforeMb)} → ${f(r.rssAfterMb)}${r.edgeRssAfterMb === undefined ? '' : ` (viewers' node: ${f(r.edgeRssBeforeMb!)} → ${f(r.edgeRssAfterMb)})`} |`,
    );
  }
  lines.push('', `Raw results: \`${rawJsonPath}\``, LOAD_SECTION.end);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      viewers: { type: 'string', default: '200' },
      'window-s': { type: 'string', default: '5' },
      'no-write': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
    },
  });
  const viewers = Number(values.viewers);
  const windowMs = Number(values['window-s']) * 1000;
  const startedAt = new Date();
  const load = boxLoad1m();
  const frames = await makeRelayFrames({ video: 'h264', seconds: 4, width: 320, height: 180 });
  const runs = [
    await runOnce('baseline (not streaming)', null, viewers, windowMs),
    await runOnce('streaming over the relay', frames, viewers, windowMs),
  ];
  if (values.cluster) {
    const redis = await startRedis();
    try {
      runs.push(
        await runOnce(
          'streaming, two nodes: viewers on B, room on A',
          frames,
          viewers,
          windowMs,
          redis,
        ),
      );
    } finally {
      await redis.stop();
    }
  }
  for (const r of runs) console.log(r);
  await writeResults({
    prefix: 'load',
    startedAt,
    report: {
      date: reportDate(startedAt),
      machine: machineInfo(),
      command: commandLine('bench:load', argv),
      boxLoad1m: load,
      runs,
    },
    render,
    markers: LOAD_SECTION,
    write: !values['no-write'],
  });
  killAllChildren();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  killAllChildren();
  process.exit(1);
});
