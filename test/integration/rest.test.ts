import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAllClients, roomWithViewers, startServer, type TestServer } from './helpers';

describe('REST and static files', () => {
  let t: TestServer;
  let bare: TestServer;
  beforeAll(async () => {
    const clientDir = mkdtempSync(path.join(tmpdir(), 'roomcast-built-'));
    writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>roomcast</title>');
    mkdirSync(path.join(clientDir, 'assets'));
    writeFileSync(path.join(clientDir, 'assets', 'app-abc123.js'), 'console.log(1)');
    t = await startServer({ STUN_URLS: 'stun:stun.example.org:3478' }, { clientDir });
    bare = await startServer();
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await t.close();
    await bare.close();
  });

  it('GET /healthz reports status, counts and disabled features', async () => {
    await roomWithViewers(t.url, 1);
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-powered-by')).toBeNull();
    const body = await res.json();
    expect(body).toMatchObject({
      status: 'ok',
      version: expect.any(String),
      protocolVersion: 1,
      uptimeS: expect.any(Number),
      rooms: 1,
      clients: 2,
      features: {
        turn: { enabled: false, reason: 'TURN_URLS not set' },
        relay: { enabled: true, reason: null },
        restream: { enabled: false, reason: 'RTMP_TARGETS is empty' },
        recording: { enabled: false, reason: 'RECORD_DIR is not set' },
      },
    });
    // The mirror is on exactly when ffmpeg was found (.ci/run installs it).
    expect(body.features.hls.enabled).toBe(body.features.ffmpeg.available);
  });

  it('GET /api/ice-servers returns the configured STUN list only', async () => {
    expect(await (await fetch(`${t.url}/api/ice-servers`)).json()).toEqual({
      iceServers: [{ urls: ['stun:stun.example.org:3478'] }],
    });
    expect(await (await fetch(`${bare.url}/api/ice-servers`)).json()).toEqual({ iceServers: [] });
  });

  it('GET /api/rooms lists only listed rooms', async () => {
    const listed = await roomWithViewers(bare.url, 1, { listed: true, title: 'Open house' });
    await roomWithViewers(bare.url, 0, { listed: false, title: 'Private' });
    const body = await (await fetch(`${bare.url}/api/rooms`)).json();
    expect(body).toEqual({
      rooms: [
        {
          roomId: listed.roomId,
          title: 'Open house',
          viewerCount: 1,
          startedAt: expect.any(Number),
        },
      ],
    });
  });

  it('unknown /api paths and bad JSON answer JSON 4xx', async () => {
    const missing = await fetch(`${t.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const badJson = await fetch(`${t.url}/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('serves the SPA with a history fallback and cache headers', async () => {
    for (const route of ['/', '/watch/123456', '/broadcast']) {
      const res = await fetch(`${t.url}${route}`);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<title>roomcast</title>');
    }
    const head = await fetch(`${t.url}/watch/654321`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const asset = await fetch(`${t.url}/assets/app-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${t.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${t.url}/healthz/extra`)).status).toBe(404);
    expect((await fetch(`${t.url}/watch/123456`, { method: 'POST' })).status).toBe(404);
  });

  it('answers 503 with a hint when the client is not built', async () => {
    const res = await fetch(`${bare.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('client not built: run npm run build');
  });
});
