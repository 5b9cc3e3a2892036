import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateRoomResult, IceServer, JoinRoomResult } from '../../shared/index';
import { createApp, type App } from '../../server/app';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import {
  closeAllClients,
  connectClient,
  emitAck,
  expectOk,
  waitFor,
  type TestSocket,
} from './helpers';
import { ChunkSource, collectChunks, sendChunk, subscribe, waitForCount } from './relay-helpers';

// Random per run: no secret-looking value is committed.
const TURN_SECRET = randomBytes(16).toString('hex');
const TURN_URLS = 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp';

interface LogLine {
  level: number;
  msg: string;
  subsystem?: string;
  room?: string;
  peer?: string;
}

function startApp(level: 'trace' | 'warn', lines: string[]): Promise<{ app: App; url: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: level,
    CLIENT_DIR: mkdtempSync(path.join(tmpdir(), 'roomcast-client-')),
    TURN_URLS,
    TURN_SECRET,
  });
  const logger = createLogger(config.logLevel, { write: (line: string) => void lines.push(line) });
  const app = createApp({ config, logger });
  return app.listen().then(({ port }) => ({ app, url: `http://127.0.0.1:${port}` }));
}

function credentials(servers: IceServer[]): string[] {
  return servers.flatMap((s) => (s.credential ? [s.credential] : []));
}

/**
 * A whole session: create, join, chat, stats, relay, the broadcaster dropping, a wrong and a
 * right reclaim, leave. Returns every secret the clients were handed.
 */
async function fullSession(url: string): Promise<{ secrets: string[]; roomId: string }> {
  const secrets: string[] = [TURN_SECRET];
  const broadcaster = await connectClient(url);
  const created = expectOk(await emitAck<CreateRoomResult>(broadcaster, 'create_room', {}));
  secrets.push(created.broadcasterToken, ...credentials(created.iceServers));

  const viewer = await connectClient(url);
  const joined = expectOk(
    await emitAck<JoinRoomResult>(viewer, 'join_room', { roomId: created.roomId }),
  );
  secrets.push(...credentials(joined.iceServers));
  expectOk(await emitAck(viewer, 'chat', { text: 'hello' }));

  const received = collectChunks(viewer);
  await subscribe(viewer, 'fallback');
  const source = new ChunkSource();
  sendChunk(broadcaster, source.next('video', { key: true }));
  sendChunk(broadcaster, source.next('audio'));
  await waitForCount(received, 2);

  // A socket that guesses the token, then the broadcaster's new socket with the real one.
  const offline = waitFor(viewer, 'broadcaster_status', 3000, (s) => !s.online);
  broadcaster.disconnect();
  await offline;
  const thief = await connectClient(url);
  const refused = await emitAck(thief, 'reclaim_room', {
    roomId: created.roomId,
    broadcasterToken: `${created.broadcasterToken.slice(0, -2)}xx`,
  });
  expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  const back: TestSocket = await connectClient(url);
  const reclaimed = expectOk(
    await emitAck<CreateRoomResult>(back, 'reclaim_room', {
      roomId: created.roomId,
      broadcasterToken: created.broadcasterToken,
    }),
  );
  secrets.push(...credentials(reclaimed.iceServers));
  expectOk(await emitAck(viewer, 'leave_room', {}));
  expectOk(await emitAck(back, 'leave_room', {}));
  return { secrets, roomId: created.roomId };
}

describe('structured logs', () => {
  const lines: string[] = [];
  let app: App;
  let url: string;
  let session: { secrets: string[]; roomId: string };

  beforeAll(async () => {
    ({ app, url } = await startApp('trace', lines));
    session = await fullSession(url);
  });
  afterAll(async () => {
    closeAllClients();
    await app.close();
  });

  it('never contain the TURN secret, a broadcaster token or a TURN credential', () => {
    // The TURN secret, the token, and the create, join and reclaim credentials.
    expect(session.secrets.length).toBeGreaterThanOrEqual(5);
    const all = lines.join('');
    for (const secret of session.secrets) expect(all).not.toContain(secret);
  });

  it('are JSON lines with a subsystem and the room and peer where handlers log', () => {
    const parsed = lines.map((line) => JSON.parse(line) as LogLine);
    expect(parsed.length).toBeGreaterThan(10);
    const find = (msg: string) => parsed.find((l) => l.msg === msg);
    for (const msg of ['room created', 'viewer joined', 'relay subscribe', 'room reclaimed']) {
      expect(find(msg), msg).toMatchObject({
        subsystem: 'signalling',
        room: session.roomId,
        peer: expect.any(String),
      });
    }
    expect(find('relay demand')).toMatchObject({ subsystem: 'relay', room: session.roomId });
    expect(find('reclaim refused')).toMatchObject({
      room: session.roomId,
      peer: expect.any(String),
    });
  });

  it('LOG_LEVEL=warn leaves the info and debug lines out', async () => {
    const quiet: string[] = [];
    const started = await startApp('warn', quiet);
    try {
      await fullSession(started.url);
    } finally {
      closeAllClients();
      await started.app.close();
    }
    const levels = quiet.map((line) => (JSON.parse(line) as LogLine).level);
    // pino: 30 info, 40 warn.
    expect(levels.every((level) => level >= 40)).toBe(true);
  });
});
