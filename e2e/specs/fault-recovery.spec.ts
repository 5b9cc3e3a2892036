import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import { spawnServer, type ServerProcess } from '../../test/support/server-process';
import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newIsolatedPage, type Viewer } from '../helpers/session';
import { routeSignalling } from '../helpers/socket-cut';
import { expectVideoPlaying } from '../helpers/video';
import { freePort } from '../../test/support/free-port';

/** Opens /watch/<room> with its signalling socket routed, so the test can cut it. */
async function routedViewer(page: Page, room: string) {
  const cut = await routeSignalling(page);
  await page.goto(`/watch/${room}`);
  return cut;
}

test.describe('recovery from faults', () => {
  test('a viewer whose socket drops shows reconnecting and resumes without a click', async ({
    page,
    browser,
    baseURL,
  }) => {
    test.setTimeout(120_000);
    const room = await goLive(page, { viaHome: false });
    const viewer = await newIsolatedPage(browser, baseURL!);
    const errors = collectPageErrors(viewer.page);
    try {
      const cut = await routedViewer(viewer.page, room);
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });

      await cut.cutFor(3_000);
      await expect(viewer.page.getByTestId('watch-status')).toHaveText(
        'Connection lost; reconnecting…',
      );
      // Back by itself: a new signalling socket, the room rejoined, a fresh peer connection.
      await expect(viewer.page.getByTestId('watch-status')).toHaveCount(0, { timeout: 30_000 });
      expect(cut.connections).toBeGreaterThanOrEqual(2);
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      await expect(page.getByTestId('viewer-count')).toHaveText('1');
      await expect(viewer.page.getByTestId('stream-ended')).toHaveCount(0);
      expect(errors).toEqual([]);
    } finally {
      await viewer.context.close();
    }
  });

  test("the broadcaster's signalling drops for 10 s: every viewer resumes by itself", async ({
    page,
    browser,
    baseURL,
  }) => {
    test.setTimeout(150_000);
    const cut = await routeSignalling(page);
    const room = await goLive(page, { viaHome: false });
    const viewers: Viewer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const viewer = await newIsolatedPage(browser, baseURL!);
        await viewer.page.goto(`/watch/${room}`);
        viewers.push(viewer);
      }
      for (const viewer of viewers) {
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      }

      await cut.cutFor(10_000);
      await expect(
        page.getByText('Connection lost; reconnecting. Viewers stay in the room.'),
      ).toBeVisible();
      for (const viewer of viewers) {
        await expect(
          viewer.page.getByText('The broadcaster lost connection; waiting for them to come back.'),
        ).toBeVisible();
      }

      // The broadcaster reconnects after the cut and reclaims the room by itself.
      await expect(page.getByText('Connection lost; reconnecting.', { exact: false })).toHaveCount(
        0,
        { timeout: 30_000 },
      );
      await expect(page.getByTestId('room-code')).toHaveText(room);
      for (const viewer of viewers) {
        await expect(
          viewer.page.getByText('The broadcaster lost connection; waiting for them to come back.'),
        ).toHaveCount(0, { timeout: 15_000 });
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
        await expect(viewer.page.getByTestId('stream-ended')).toHaveCount(0);
      }
      await expect(page.getByTestId('viewer-count')).toHaveText('2');
    } finally {
      for (const viewer of viewers) await viewer.context.close();
    }
  });
});

// Every server this file spawned; killed after each test even when it timed out midway.
const spawned: ServerProcess[] = [];
async function spawnTracked(env: Record<string, string>): Promise<ServerProcess> {
  const started = await spawnServer(env);
  spawned.push(started);
  return started;
}
test.afterEach(() => {
  for (const started of spawned.splice(0)) started.kill();
});
test.afterAll(() => {
  for (const started of spawned.splice(0)) started.kill();
});

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`a server stopped with ${signal} mid-broadcast and restarted: the room code comes back and viewers play again`, async ({
    browser,
  }) => {
    test.setTimeout(180_000);
    const port = await freePort();
    // A fixed ROOM_SECRET: the restarted process verifies the token the first one signed.
    const env = { PORT: String(port), ROOM_SECRET: randomBytes(16).toString('hex') };
    let proc: ServerProcess = await spawnTracked(env);
    const baseURL = `http://localhost:${port}`;
    const broadcaster = await newIsolatedPage(browser, baseURL);
    const viewers: Viewer[] = [];
    try {
      const room = await goLive(broadcaster.page, { viaHome: false });
      for (let i = 0; i < 2; i++) {
        const viewer = await newIsolatedPage(browser, baseURL);
        await viewer.page.goto(`/watch/${room}`);
        viewers.push(viewer);
      }
      for (const viewer of viewers) {
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      }

      if (signal === 'SIGKILL') proc.kill();
      // SIGTERM: the graceful path, which tells everyone room_closed {reason: "server_shutdown"}.
      else process.kill(-proc.child.pid!, 'SIGTERM');
      await proc.exited;
      for (const viewer of viewers) {
        await expect(viewer.page.getByTestId('watch-status')).toHaveText(
          'Connection lost; reconnecting…',
        );
      }
      proc = await spawnTracked(env);

      await expect(broadcaster.page.getByTestId('room-code')).toHaveText(room, { timeout: 30_000 });
      await expect(broadcaster.page.getByTestId('broadcast-error')).toHaveCount(0);
      for (const viewer of viewers) {
        await expect(viewer.page).toHaveURL(new RegExp(`/watch/${room}$`));
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 45_000 });
        await expect(viewer.page.getByTestId('stream-ended')).toHaveCount(0);
      }
      await expect(broadcaster.page.getByTestId('viewer-count')).toHaveText('2', {
        timeout: 15_000,
      });
    } finally {
      for (const viewer of viewers) await viewer.context.close();
      await broadcaster.context.close();
      proc.kill();
    }
  });
}
