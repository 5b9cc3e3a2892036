import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSignedCert } from '../../server/tls';
import { ffprobeStreams } from '../support/ffprobe';
import { makeRelayFrames } from '../support/media-fixture';
import { publishPaced, type PacedPublisher } from '../support/paced-publisher';
import { connectClient, emitAck as emitTestAck, startServer, type TestServer } from './helpers';
import { freePort } from '../support/free-port';

/**
 * deploy/nginx.conf, rendered with test ports and temp paths, run by Debian's real nginx in
 * front of the real app. CI installs nginx (.ci/run); without it this file fails, never skips.
 */
const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const TEMPLATE = path.resolve(import.meta.dirname, '..', '..', 'deploy', 'nginx.conf');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET through nginx over HTTPS, trusting only the test certificate. */
function get(port: number, urlPath: string, ca: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, ca, servername: 'localhost' });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function render(vars: Record<string, string>): string {
  let text = readFileSync(TEMPLATE, 'utf8');
  for (const [key, value] of Object.entries(vars)) text = text.replaceAll(`{{${key}}}`, value);
  const left = /\{\{[A-Z_]+\}\}/.exec(text);
  if (left) throw new Error(`unrendered placeholder ${left[0]} in deploy/nginx.conf`);
  return text;
}

function connect(port: number, ca: string, transport: 'websocket' | 'polling'): Socket {
  return ioClient(`https://localhost:${port}`, {
    transports: [transport],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    ca,
  });
}

function once<T>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), timeoutMs);
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

function emitAck<T>(socket: Socket, event: string, payload: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}

describe('deploy/nginx.conf with Debian nginx in front of the app', () => {
  let app: TestServer;
  let nginx: ChildProcess | undefined;
  let nginxOutput = '';
  let dir: string;
  let cert: string;
  let httpsPort: number;
  let httpPort: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    if (!existsSync(NGINX)) {
      throw new Error(`nginx is not installed at ${NGINX}: apt-get install nginx (see .ci/run)`);
    }
    dir = mkdtempSync(path.join(tmpdir(), 'roomcast-nginx-'));
    const clientDir = path.join(dir, 'client');
    mkdirSync(path.join(clientDir, 'assets'), { recursive: true });
    writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>roomcast spa</title>');
    writeFileSync(path.join(clientDir, 'assets', 'app-3f9a1c.js'), 'console.log("app");');
    app = await startServer({}, { clientDir });

    const tls = await ensureSelfSignedCert(path.join(dir, 'tls'), ['localhost', '127.0.0.1']);
    cert = tls.cert;
    for (const sub of ['logs', 'temp']) mkdirSync(path.join(dir, sub));
    [httpsPort, httpPort] = [await freePort(), await freePort()];
    const confFile = path.join(dir, 'nginx.conf');
    writeFileSync(
      confFile,
      render({
        HTTP_PORT: String(httpPort),
        HTTPS_PORT: String(httpsPort),
        APP_PORT: String(app.port),
        TLS_CERT: tls.certFile,
        TLS_KEY: tls.keyFile,
        PID_FILE: path.join(dir, 'nginx.pid'),
        LOG_DIR: path.join(dir, 'logs'),
        TEMP_DIR: path.join(dir, 'temp'),
      }),
    );
    // As root, workers would run as `nobody`, which cannot enter the 0700 temp dir.
    const user = process.getuid?.() === 0 ? ` user ${userInfo().username};` : '';
    const args = ['-p', dir, '-c', confFile, '-e', path.join(dir, 'logs', 'error.log')];
    const check = spawnSync(NGINX, [...args, '-t', '-g', `daemon off;${user}`], {
      encoding: 'utf8',
    });
    if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);

    nginx = spawn(NGINX, [...args, '-g', `daemon off;${user}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nginx.stdout?.on('data', (c: Buffer) => (nginxOutput += c.toString()));
    nginx.stderr?.on('data', (c: Buffer) => (nginxOutput += c.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (nginx.exitCode !== null) throw new Error(`nginx exited:\n${nginxOutput}`);
      const ok = await get(httpsPort, '/healthz', cert).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`nginx not answering:\n${nginxOutput}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGTERM');
      await gone;
    }
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the SPA over TLS, with the app cache headers passed through', async () => {
    const page = await get(httpsPort, '/watch/123456', cert);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>roomcast spa</title>');
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await get(httpsPort, '/assets/app-3f9a1c.js', cert);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['server']).toBe('nginx');
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/watch/123456' });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(301);
    expect(reply.headers.location).toBe('https://127.0.0.1/watch/123456');
  });

  it('carries Socket.IO over WebSocket: create, join, viewer_joined, chat', async () => {
    const broadcaster = connect(httpsPort, cert, 'websocket');
    const viewer = connect(httpsPort, cert, 'websocket');
    sockets.push(broadcaster, viewer);
    await Promise.all([once(broadcaster, 'welcome'), once(viewer, 'welcome')]);
    expect(broadcaster.io.engine.transport.name).toBe('websocket');

    const created = await emitAck<{ ok: true; data: { roomId: string } }>(
      broadcaster,
      'create_room',
      {},
    );
    expect(created.ok).toBe(true);
    const joinedHeard = once<{ viewerId: string }>(broadcaster, 'viewer_joined');
    const joined = await emitAck<{ ok: boolean }>(viewer, 'join_room', {
      roomId: created.data.roomId,
    });
    expect(joined.ok).toBe(true);
    expect((await joinedHeard).viewerId).toBe(viewer.id);
    const chat = once<{ text: string }>(broadcaster, 'chat');
    await emitAck(viewer, 'chat', { text: 'through nginx' });
    expect((await chat).text).toBe('through nginx');

    // nginx itself switched protocols (101); it logs the request once the WebSocket closes.
    broadcaster.disconnect();
    viewer.disconnect();
    const accessLog = path.join(dir, 'logs', 'access.log');
    await expect
      .poll(() => readFileSync(accessLog, 'utf8'), { timeout: 5000 })
      .toMatch(/GET \/socket\.io\/\?EIO=4&transport=websocket[^"]* HTTP\/1\.1" 101 /);
  });

  it('carries Socket.IO long-polling (the fallback) too', async () => {
    const polling = connect(httpsPort, cert, 'polling');
    sockets.push(polling);
    const welcome = await once<{ clientId: string }>(polling, 'welcome');
    expect(welcome.clientId).toBe(polling.id);
    expect(polling.io.engine.transport.name).toBe('polling');
  });

  it('proxies /hls/ to the app: its own 404 answer passes through unchanged', async () => {
    const reply = await get(httpsPort, '/hls/123456/index.m3u8', cert);
    const direct = await fetch(`${app.url}/hls/123456/index.m3u8`);
    expect(reply.status).toBe(direct.status);
    expect(reply.headers['content-type']).toBe(direct.headers.get('content-type'));
    expect(reply.body).toBe(await direct.text());
    expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('serves a live HLS mirror through nginx: playlist, segments, ffprobe H.264 + AAC', async () => {
    const frames = await makeRelayFrames({ video: 'h264', seconds: 3, width: 320, height: 180 });
    const broadcaster = await connectClient(app.url);
    let publisher: PacedPublisher | null = null;
    broadcaster.on('relay_demand', (d) => {
      if (d.active && !publisher) {
        publisher = publishPaced(frames, (b) => broadcaster.emit('relay_chunk', b));
      }
    });
    try {
      const created = await emitTestAck<{ roomId: string }>(broadcaster, 'create_room', {});
      if (!created.ok) throw new Error(created.error.code);
      const roomId = created.data.roomId;
      expect((await emitTestAck(broadcaster, 'egress_set', { hls: true })).ok).toBe(true);
      const playlistPath = `/hls/${roomId}/index.m3u8`;
      await expect
        .poll(async () => (await get(httpsPort, playlistPath, cert)).body, { timeout: 20_000 })
        .toMatch(/seg-\d+\.ts[\s\S]*seg-\d+\.ts/);
      const playlist = await get(httpsPort, playlistPath, cert);
      expect(playlist.status).toBe(200);
      expect(playlist.headers['content-type']).toContain('application/vnd.apple.mpegurl');
      expect(playlist.headers['cache-control']).toBe('no-cache');
      const segment = /seg-\d+\.ts/.exec(playlist.body)?.[0] ?? '';
      const seg = await get(httpsPort, `/hls/${roomId}/${segment}`, cert);
      expect(seg.status).toBe(200);
      expect(seg.headers['content-type']).toBe('video/mp2t');
      expect(seg.headers['cache-control']).toContain('immutable');
      // A real player through nginx's TLS (ffprobe does not check the test certificate).
      const probe = await ffprobeStreams(`https://127.0.0.1:${httpsPort}${playlistPath}`);
      expect(probe.codecs).toEqual(['aac', 'h264']);
    } finally {
      (publisher as PacedPublisher | null)?.stop();
      broadcaster.disconnect();
    }
  }, 60_000);

  it('keeps /metrics to local callers', async () => {
    // The test connects from 127.0.0.1, which the config allows.
    const reply = await get(httpsPort, '/metrics', cert);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('roomcast_rooms');
    expect(readFileSync(TEMPLATE, 'utf8')).toMatch(/location = \/metrics \{[^}]*deny all;/);
  });
});
