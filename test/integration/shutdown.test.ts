import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../server/logger';
import { Readiness } from '../../server/readiness';
import { createShutdown, SHUTDOWN_DEADLINE_MS } from '../../server/shutdown';
import { spawnServer, type ServerProcess } from '../support/server-process';
import { closeAllClients, connectClient, emitAck, expectOk, waitFor } from './helpers';

describe('graceful shutdown of the real server process', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    closeAllClients();
    server?.kill();
    await server?.exited;
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: viewers hear room_closed/server_shutdown, the listener closes, the process exits 0',
    async (signal) => {
      server = await spawnServer();
      const url = `http://127.0.0.1:${server.port}`;
      const broadcaster = await connectClient(url);
      const { roomId } = expectOk(
        await emitAck<{ roomId: string }>(broadcaster, 'create_room', {}),
      );
      const viewer = await connectClient(url);
      expectOk(await emitAck(viewer, 'join_room', { roomId }));
      const closedForViewer = waitFor(viewer, 'room_closed', 10_000);
      const closedForHost = waitFor(broadcaster, 'room_closed', 10_000);

      const sentAt = Date.now();
      process.kill(server.child.pid!, signal);
      expect(await closedForViewer).toEqual({ roomId, reason: 'server_shutdown' });
      expect(await closedForHost).toEqual({ roomId, reason: 'server_shutdown' });
      const { code } = await server.exited;
      const tookMs = Date.now() - sentAt;
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(SHUTDOWN_DEADLINE_MS);
      const log = server.lines.join('\n');
      expect(log).toContain('"msg":"shutting down"');
      expect(log).toContain('"msg":"stopped"');
      // Nothing listens any more.
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    },
    20_000,
  );
});

describe('shutdown deadline', () => {
  afterEach(() => vi.useRealTimers());

  it('marks the app not ready at once and exits 1 when close() hangs past the deadline', () => {
    vi.useFakeTimers();
    const readiness = new Readiness();
    readiness.markListening();
    const exits: number[] = [];
    const shutdown = createShutdown({
      server: { readiness, close: () => new Promise<void>(() => {}) },
      logger: createLogger('silent'),
      exit: (code) => exits.push(code),
    });
    shutdown('SIGTERM');
    expect(readiness.shuttingDown).toBe(true);
    vi.advanceTimersByTime(SHUTDOWN_DEADLINE_MS - 1);
    expect(exits).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
  });

  it('a second signal exits at once; a failing close() exits 1', async () => {
    const readiness = new Readiness();
    const exits: number[] = [];
    const hanging = createShutdown({
      server: { readiness, close: () => new Promise<void>(() => {}) },
      logger: createLogger('silent'),
      exit: (code) => exits.push(code),
      deadlineMs: 60_000,
    });
    hanging('SIGINT');
    hanging('SIGINT');
    expect(exits).toEqual([1]);

    const failing = createShutdown({
      server: { readiness, close: () => Promise.reject(new Error('stuck')) },
      logger: createLogger('silent'),
      exit: (code) => exits.push(code),
      deadlineMs: 60_000,
    });
    failing('SIGTERM');
    await vi.waitFor(() => expect(exits).toEqual([1, 1]));
  });
});
