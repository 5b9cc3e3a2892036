import { randomBytes } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EgressStatus, RelayFrame } from '../../shared/index';
import { ffprobeStreams } from '../support/ffprobe';
import { makeRelayFrames } from '../support/media-fixture';
import { publishPaced, type PacedPublisher } from '../support/paced-publisher';
import {
  closeAllClients,
  collect,
  connectClient,
  emitAck,
  expectOk,
  sleep,
  startServer,
  waitFor,
  type TestServer,
  type TestSocket,
} from './helpers';
import { freePort } from '../support/free-port';

const run = promisify(execFile);

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function fetchText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function segmentsOf(playlist: string): string[] {
  return playlist.split('\n').filter((l) => l.endsWith('.ts'));
}

interface Broadcast {
  broadcaster: TestSocket;
  roomId: string;
  statuses: EgressStatus[];
  publisher: () => PacedPublisher | null;
  stop(): void;
}

/** A socket.io broadcaster that runs its "relay upstream" only while relay_demand is active. */
async function goLive(server: TestServer, frames: RelayFrame[]): Promise<Broadcast> {
  const broadcaster = await connectClient(server.url);
  const statuses = collect(broadcaster, 'egress_status');
  let publisher: PacedPublisher | null = null;
  broadcaster.on('relay_demand', (demand) => {
    if (demand.active && !publisher) {
      publisher = publishPaced(frames, (bytes) => broadcaster.emit('relay_chunk', bytes));
    } else if (!demand.active && publisher) {
      publisher.stop();
      publisher = null;
    }
  });
  const { roomId } = expectOk(await emitAck<{ roomId: string }>(broadcaster, 'create_room', {}));
  return {
    broadcaster,
    roomId,
    statuses,
    publisher: () => publisher,
    stop: () => {
      publisher?.stop();
      publisher = null;
    },
  };
}

let h264Frames: RelayFrame[];
let vp9Frames: RelayFrame[];

beforeAll(async () => {
  [h264Frames, vp9Frames] = await Promise.all([
    makeRelayFrames({ video: 'h264', seconds: 4 }),
    makeRelayFrames({ video: 'vp9', seconds: 4 }),
  ]);
}, 60_000);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  closeAllClients();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function serverWith(
  env: Record<string, string>,
): Promise<{ server: TestServer; hlsDir: string }> {
  const hlsDir = mkdtempSync(path.join(tmpdir(), 'roomcast-hls-test-'));
  const server = await startServer({ HLS_DIR: hlsDir, ...env });
  cleanups.push(async () => {
    await server.close();
    rmSync(hlsDir, { recursive: true, force: true });
  });
  return { server, hlsDir };
}

describe('HLS mirror', () => {
  it('an H.264 broadcast is copied into a live HLS playlist with H.264 + AAC, counted viewers and ENDLIST on stop', async () => {
    const { server, hlsDir } = await serverWith({});
    const live = await goLive(server, h264Frames);
    const demand = waitFor(live.broadcaster, 'relay_demand', 5000, (d) => d.active);
    const status = expectOk(
      await emitAck<EgressStatus>(live.broadcaster, 'egress_set', { hls: true }),
    );
    expect(status.hls.on).toBe(true);
    expect(status.hls.pageUrl).toBe(`/live/${live.roomId}`);
    // Egress wants H.264 so ffmpeg can copy it, and is not counted as a relay viewer.
    expect(await demand).toMatchObject({ active: true, relayViewers: 0, preferH264: true });

    const playlistUrl = `${server.url}/hls/${live.roomId}/index.m3u8`;
    const first = await until(
      'the playlist',
      async () => {
        const r = await fetchText(playlistUrl);
        return r.status === 200 && segmentsOf(r.text).length >= 2 ? r : null;
      },
      15_000,
    );
    expect(first.headers.get('content-type')).toContain('application/vnd.apple.mpegurl');
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.text).toContain('#EXT-X-PROGRAM-DATE-TIME');
    expect(first.text).toMatch(/#EXT-X-TARGETDURATION:1\b/);
    const seg = await fetch(`${server.url}/hls/${live.roomId}/${segmentsOf(first.text)[0]}`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('cache-control')).toContain('immutable');
    await seg.arrayBuffer();

    expect((await ffprobeStreams(playlistUrl)).codecs).toEqual(['aac', 'h264']);
    await until('the live state', () => live.statuses.some((s) => s.hls.state === 'live'), 5000);
    expect(live.statuses.at(-1)?.transcoding).toBe(false);

    // Two distinct readers of the playlist show up as path `hls` in the room's stats.
    const viewer = await connectClient(server.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: live.roomId }));
    await fetch(`${playlistUrl}?sid=readerAAAAAAAAAA`).then((r) => r.text());
    await fetch(`${playlistUrl}?sid=readerBBBBBBBBBB`).then((r) => r.text());
    const summary = await waitFor(viewer, 'stats_summary', 4000, (s) => s.pathCounts.hls >= 2);
    expect(summary.hlsMirror).toBe(true);
    const streams = (await (await fetch(`${server.url}/api/streams`)).json()) as {
      streams: { roomId: string; pageUrl: string }[];
    };
    expect(streams.streams.map((s) => s.roomId)).toContain(live.roomId);

    // The broadcast ends: ffmpeg finishes the playlist with ENDLIST.
    expectOk(await emitAck(live.broadcaster, 'leave_room', {}));
    live.stop();
    await until(
      'ENDLIST',
      () =>
        readFileSync(path.join(hlsDir, live.roomId, 'index.m3u8'), 'utf8').includes(
          '#EXT-X-ENDLIST',
        ),
      10_000,
    );
  }, 60_000);

  it('a crashed ffmpeg is restarted and the playlist keeps growing after a discontinuity', async () => {
    const { server, hlsDir } = await serverWith({});
    const live = await goLive(server, h264Frames);
    expectOk(await emitAck(live.broadcaster, 'egress_set', { hls: true }));
    const playlistFile = path.join(hlsDir, live.roomId, 'index.m3u8');
    const playlistText = () => (existsSync(playlistFile) ? readFileSync(playlistFile, 'utf8') : '');
    await until('segments', () => segmentsOf(playlistText()).length >= 2, 15_000);

    const { stdout } = await run('pgrep', ['-f', `${hlsDir}/${live.roomId}/index.m3u8`]);
    const pids = stdout.trim().split('\n').map(Number);
    expect(pids.length).toBe(1);
    process.kill(pids[0] ?? 0, 'SIGKILL');
    const lastBefore = segmentsOf(playlistText()).at(-1);
    const killedAt = Date.now();
    const trace = () => live.statuses.map((s) => `${s.hls.state}:${s.hls.error ?? ''}`).join(' | ');

    await until(
      'a new segment after the crash',
      () => {
        const text = playlistText();
        const segs = segmentsOf(text);
        return (
          text.includes('#EXT-X-DISCONTINUITY') && segs.at(-1) !== lastBefore && segs.length > 0
        );
      },
      8000,
    );
    // The promise is "within 5 s"; measured here, asserted loosely for a busy CI box.
    expect(Date.now() - killedAt).toBeLessThan(8000);
    expect(playlistText(), trace()).not.toContain('#EXT-X-ENDLIST');
    await until('restart reported', () => live.statuses.some((s) => s.hls.restarts >= 1), 3000);
    live.stop();
  }, 60_000);

  it('a VP9 source is transcoded to H.264 for the mirror', async () => {
    const { server } = await serverWith({});
    const live = await goLive(server, vp9Frames);
    expectOk(await emitAck(live.broadcaster, 'egress_set', { hls: true }));
    const playlistUrl = `${server.url}/hls/${live.roomId}/index.m3u8`;
    await until(
      'the playlist',
      async () => {
        const r = await fetchText(playlistUrl);
        return r.status === 200 && segmentsOf(r.text).length >= 2;
      },
      20_000,
    );
    expect((await ffprobeStreams(playlistUrl)).codecs).toEqual(['aac', 'h264']);
    await until('transcoding flagged', () => live.statuses.some((s) => s.transcoding), 3000);
    live.stop();
  }, 60_000);

  it('serves only 6-digit rooms with a mirror and only playlist/segment names', async () => {
    const { server } = await serverWith({});
    const live = await goLive(server, h264Frames);
    expectOk(await emitAck(live.broadcaster, 'egress_set', { hls: true }));
    const bad = [
      `/hls/${live.roomId}/%2e%2e%2fetc%2fpasswd`,
      `/hls/${live.roomId}/index.m3u8.bak`,
      `/hls/${live.roomId}/seg-1.mp4`,
      `/hls/${live.roomId}/`,
      `/hls/12345/index.m3u8`,
      `/hls/1234567/index.m3u8`,
      `/hls/abcdef/index.m3u8`,
      `/hls/000000/index.m3u8`,
      `/hls/${live.roomId}/seg-..ts`,
      `/hls/`,
      `/hls/x`,
    ];
    for (const p of bad) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type') ?? '', p).not.toContain('text/html');
    }
    live.stop();
  }, 30_000);
});

describe('server mirror policy', () => {
  it('HLS_MIRROR=forced_on mirrors every room and refuses to switch it off', async () => {
    const { server } = await serverWith({ HLS_MIRROR: 'forced_on' });
    const live = await goLive(server, h264Frames);
    const first = await until('status', () => live.statuses.at(-1), 3000);
    expect(first.hls.on).toBe(true);
    expect(first.capabilities.hlsPolicy).toBe('forced_on');
    const refused = await emitAck(live.broadcaster, 'egress_set', { hls: false });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    await until(
      'the forced mirror plays',
      async () => (await fetch(`${server.url}/hls/${live.roomId}/index.m3u8`)).status === 200,
      15_000,
    );
    live.stop();
  }, 30_000);

  it('HLS_MIRROR=forced_off refuses to switch it on', async () => {
    const { server } = await serverWith({ HLS_MIRROR: 'forced_off' });
    const live = await goLive(server, h264Frames);
    const refused = await emitAck(live.broadcaster, 'egress_set', { hls: true });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect((await fetch(`${server.url}/hls/${live.roomId}/index.m3u8`)).status).toBe(404);
    live.stop();
  }, 30_000);

  it('only the broadcaster can switch egress', async () => {
    const { server } = await serverWith({});
    const live = await goLive(server, h264Frames);
    const viewer = await connectClient(server.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: live.roomId }));
    expect(await emitAck(viewer, 'egress_set', { hls: true })).toMatchObject({
      ok: false,
      error: { code: 'NOT_BROADCASTER' },
    });
    const stranger = await connectClient(server.url);
    expect(await emitAck(stranger, 'restream_set', { target: 'x', on: true })).toMatchObject({
      ok: false,
      error: { code: 'NOT_IN_ROOM' },
    });
    expect(await emitAck(live.broadcaster, 'egress_set', { hls: 'yes' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
    live.stop();
  }, 30_000);
});

describe('RTMP restream', () => {
  it('lands H.264 + AAC in a real RTMP listener and never exposes the stream key', async () => {
    const port = await freePort();
    const outDir = mkdtempSync(path.join(tmpdir(), 'roomcast-rtmp-'));
    const outFile = path.join(outDir, 'out.flv');
    const listener: ChildProcess = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-listen',
        '1',
        '-i',
        `rtmp://127.0.0.1:${port}/live/secretkey123`,
        '-c',
        'copy',
        '-y',
        outFile,
      ],
      { stdio: 'ignore' },
    );
    const listenerExit = new Promise<void>((resolve) => listener.on('exit', () => resolve()));
    cleanups.push(() => {
      listener.kill('SIGKILL');
      rmSync(outDir, { recursive: true, force: true });
    });
    await sleep(500);
    const { server } = await serverWith({
      RTMP_TARGETS: JSON.stringify([
        { name: 'Local test', url: `rtmp://127.0.0.1:${port}/live/secretkey123` },
      ]),
    });
    const live = await goLive(server, h264Frames);
    await until('capabilities', () => live.statuses.at(-1), 3000);
    expect(live.statuses.at(-1)?.capabilities.restreamTargets).toEqual(['Local test']);
    expect(JSON.stringify(live.statuses)).not.toContain('secretkey123');

    // A client can only name a target; anything else is refused with a typed error.
    const junk = await emitAck(live.broadcaster, 'restream_set', {
      target: 'rtmp://evil/x',
      on: true,
    });
    expect(junk).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    const extra = await emitAck(live.broadcaster, 'restream_set', {
      target: 'Local test',
      on: true,
      url: 'rtmp://evil/x',
    });
    expect(extra).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });

    expectOk(await emitAck(live.broadcaster, 'restream_set', { target: 'Local test', on: true }));
    await until(
      'restream live',
      () => live.statuses.some((s) => s.restreams[0]?.state === 'live'),
      15_000,
    );
    await sleep(6500);
    expectOk(await emitAck(live.broadcaster, 'restream_set', { target: 'Local test', on: false }));
    await Promise.race([listenerExit, sleep(10_000)]);
    const probe = await ffprobeStreams(outFile);
    expect(probe.codecs).toEqual(['aac', 'h264']);
    expect(probe.duration).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(live.statuses)).not.toContain('secretkey123');
    live.stop();
  }, 60_000);

  it('a target that refuses is reported and retried with backoff', async () => {
    const port = await freePort(); // nothing listens there
    const { server } = await serverWith({
      RTMP_TARGETS: JSON.stringify([{ name: 'Down', url: `rtmp://127.0.0.1:${port}/live/k` }]),
    });
    const live = await goLive(server, h264Frames);
    expectOk(await emitAck(live.broadcaster, 'restream_set', { target: 'Down', on: true }));
    const retrying = await until(
      'retrying',
      () => live.statuses.find((s) => s.restreams[0]?.state === 'retrying'),
      15_000,
    );
    expect(retrying.restreams[0]?.error).toBeTruthy();
    expect(retrying.restreams[0]?.retryInMs).toBeGreaterThan(0);
    expect(retrying.restreams[0]?.error).not.toContain(String(port));
    live.stop();
  }, 30_000);
});

describe('recording', () => {
  it('saves a playable Matroska file listed and downloadable behind the admin token', async () => {
    const recordDir = mkdtempSync(path.join(tmpdir(), 'roomcast-rec-'));
    cleanups.push(() => rmSync(recordDir, { recursive: true, force: true }));
    const token = randomBytes(16).toString('hex');
    const { server } = await serverWith({ RECORD_DIR: recordDir, ADMIN_TOKEN: token });
    const live = await goLive(server, h264Frames);
    await until(
      'recording live',
      () => live.statuses.some((s) => s.recording.state === 'live'),
      10_000,
    );
    await sleep(4000);
    expectOk(await emitAck(live.broadcaster, 'leave_room', {}));
    live.stop();

    expect((await fetch(`${server.url}/api/recordings`)).status).toBe(401);
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const list = await until(
      'a finished recording',
      async () => {
        const body = (await (await fetch(`${server.url}/api/recordings`, auth)).json()) as {
          recordings: {
            name: string;
            roomId: string;
            endedAt: number | null;
            downloadUrl: string;
          }[];
        };
        return body.recordings.find((r) => r.roomId === live.roomId && r.endedAt !== null);
      },
      10_000,
    );
    const download = await fetch(`${server.url}${list.downloadUrl}`, auth);
    expect(download.status).toBe(200);
    const file = path.join(recordDir, 'downloaded.mkv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, Buffer.from(await download.arrayBuffer()));
    const probe = await ffprobeStreams(file);
    expect(probe.codecs).toEqual(['h264', 'opus']);
    expect(probe.duration).toBeGreaterThan(2);
    expect((await fetch(`${server.url}/api/recordings/..%2F..%2Fetc%2Fpasswd`, auth)).status).toBe(
      404,
    );
  }, 60_000);
});

describe('without ffmpeg', () => {
  it('egress is off with a reason in /healthz and a typed error, and the server keeps working', async () => {
    const { server } = await serverWith({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
      features: { hls: { enabled: boolean; reason: string } };
    };
    expect(health.features.hls).toMatchObject({ enabled: false });
    expect(health.features.hls.reason).toMatch(/ffmpeg is not installed on the server/);
    const live = await goLive(server, h264Frames);
    const status = await until('status', () => live.statuses.at(-1), 3000);
    expect(status.capabilities).toMatchObject({ ffmpeg: false });
    expect(status.hls.state).toBe('unavailable');
    const refused = await emitAck(live.broadcaster, 'egress_set', { hls: true });
    expect(refused).toMatchObject({ ok: false, error: { code: 'SERVER_BUSY' } });
    const viewer = await connectClient(server.url);
    expectOk(await emitAck(viewer, 'join_room', { roomId: live.roomId }));
    live.stop();
  }, 30_000);
});

afterAll(() => closeAllClients());
