import { randomBytes } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { startRedis, type RedisServer } from '../../test/support/redis-server';
import { startServer, type RunningServer } from '../fixtures';
import { trackPeerConnections } from '../helpers/coturn-fixture';
import { collectPageErrors, goLive, newIsolatedPage, type Viewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

/**
 * Two server processes sharing one real redis-server. The broadcaster's page is on node A's
 * origin, so its room lives on A; the viewer's page is on node B's origin, so its socket is on B
 * and everything it gets from the room crosses Redis. Plain @playwright/test: the shared fixture
 * would start a third, stand-alone server.
 */
interface ClusterNode {
  server: RunningServer;
  stop: () => Promise<void>;
}

let redis: RedisServer | undefined;
const nodes: ClusterNode[] = [];
let nodeA: RunningServer;
let nodeB: RunningServer;

const readyTimeoutMs = 20_000;

/** A cluster node refuses sockets until it has joined Redis: wait for /readyz to say 200. */
async function startClusterNode(env: Record<string, string>): Promise<RunningServer> {
  const node = await startServer(env);
  nodes.push(node);
  const readyz = `http://127.0.0.1:${node.server.port}/readyz`;
  await expect
    .poll(
      () =>
        fetch(readyz).then(
          (response) => response.status,
          () => 0,
        ),
      { timeout: readyTimeoutMs, message: `node never ready\n${node.server.logTail()}` },
    )
    .toBe(200);
  return node.server;
}

test.beforeAll(async () => {
  test.setTimeout(90_000);
  redis = await startRedis();
  const clusterEnv = {
    REDIS_URL: redis.url,
    ROOM_SECRET: randomBytes(24).toString('base64url'),
  };
  [nodeA, nodeB] = await Promise.all([startClusterNode(clusterEnv), startClusterNode(clusterEnv)]);
});

test.afterAll(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()));
  await redis?.stop();
});

// eslint-disable-next-line no-empty-pattern -- Playwright reads fixtures from this pattern
test.afterEach(async ({}, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  for (const [name, node] of [
    ['node-A-log', nodeA],
    ['node-B-log', nodeB],
  ] as const) {
    if (node) await testInfo.attach(name, { body: node.logTail(), contentType: 'text/plain' });
  }
});

/** The ports of the Socket.IO WebSockets the page opens (to prove which node it talks to). */
function recordSocketPorts(page: Page): number[] {
  const ports: number[] = [];
  page.on('websocket', (ws) => {
    if (ports.length < 50) ports.push(Number(new URL(ws.url()).port));
  });
  return ports;
}

/** How many RTCPeerConnections the page ever created (trackPeerConnections keeps ≤ 16). */
function peerConnectionCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __rcPeerConnections?: unknown[] }).__rcPeerConnections?.length ?? 0,
  );
}

async function expectSocketsOnlyOn(ports: number[], node: RunningServer): Promise<void> {
  await expect.poll(() => ports.length).toBeGreaterThan(0);
  expect(new Set(ports), `sockets go to node port ${node.port} only`).toEqual(new Set([node.port]));
}

test('a viewer on node B joins by code and watches a broadcaster on node A', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const opened: Viewer[] = [];
  try {
    const broadcaster = await newIsolatedPage(browser, nodeA.baseURL);
    opened.push(broadcaster);
    const pageErrors = collectPageErrors(broadcaster.page);
    const broadcasterPorts = recordSocketPorts(broadcaster.page);
    const roomTitle = `cross-node ${randomBytes(3).toString('hex')}`;
    const room = await goLive(broadcaster.page, { viaHome: false, title: roomTitle });
    await expectSocketsOnlyOn(broadcasterPorts, nodeA);

    const viewer = await newIsolatedPage(browser, nodeB.baseURL);
    opened.push(viewer);
    pageErrors.push(...collectPageErrors(viewer.page));
    const viewerPorts = recordSocketPorts(viewer.page);

    await test.step("the code typed into node B's join box opens the watch page", async () => {
      await viewer.page.goto('/');
      await viewer.page.getByTestId('join-room-input').fill(room);
      await viewer.page.getByTestId('join-room-submit').click();
      await expect(viewer.page).toHaveURL(`${nodeB.baseURL}/watch/${room}`);
      // The title comes from the join answer, which only node A (the room's home) knows.
      await expect(viewer.page.getByRole('heading', { level: 1, name: roomTitle })).toBeVisible();
    });

    await test.step('video from node A plays on node B over direct WebRTC', async () => {
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute(
        'data-path',
        'direct',
      );
      await expectSocketsOnlyOn(viewerPorts, nodeB);
    });

    await test.step("node A's broadcaster counts the viewer on node B", async () => {
      await expect(broadcaster.page.getByTestId('viewer-count')).toHaveText('1', {
        timeout: 20_000,
      });
      const rows = broadcaster.page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(1);
      await expect(rows.locator('[data-path="direct"]')).toHaveCount(1, { timeout: 20_000 });
      await expect(viewer.page.getByTestId('watch-viewer-count')).toHaveText('1', {
        timeout: 20_000,
      });
    });

    await test.step("chat sent on node B reaches node A's broadcaster", async () => {
      const text = `hello from node B ${randomBytes(4).toString('hex')}`;
      await viewer.page.getByTestId('chat-input').fill(text);
      await viewer.page.getByTestId('chat-send').click();
      for (const chatPage of [viewer.page, broadcaster.page]) {
        await expect(chatPage.getByTestId('chat-message').filter({ hasText: text })).toHaveCount(1);
      }
    });

    await test.step('Stop on node A shows "stream ended" on node B', async () => {
      broadcaster.page.on('dialog', (dialog) => void dialog.accept());
      await broadcaster.page.getByTestId('stop-broadcast').click();
      await expect(viewer.page.getByTestId('stream-ended')).toBeVisible({ timeout: 15_000 });
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(opened.map(({ context }) => context.close()));
  }
});

test('a ?path=relay viewer on node B plays relay chunks from a broadcaster on node A, and its leaving reaches A', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const opened: Viewer[] = [];
  try {
    const broadcaster = await newIsolatedPage(browser, nodeA.baseURL);
    opened.push(broadcaster);
    const pageErrors = collectPageErrors(broadcaster.page);
    const room = await goLive(broadcaster.page, { viaHome: false });

    const viewer = await newIsolatedPage(browser, nodeB.baseURL);
    opened.push(viewer);
    pageErrors.push(...collectPageErrors(viewer.page));
    await trackPeerConnections(viewer.context);
    const viewerPorts = recordSocketPorts(viewer.page);
    await viewer.page.goto(`/watch/${room}?path=relay`);

    await test.step('frames advance over the relay through node B', async () => {
      await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
      await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute(
        'data-path',
        'relay',
      );
      expect(await peerConnectionCount(viewer.page), '?path=relay makes no peer connection').toBe(
        0,
      );
      await expectSocketsOnlyOn(viewerPorts, nodeB);
    });

    await test.step("node A's broadcaster sees the node B viewer on the relay", async () => {
      const rows = broadcaster.page.getByTestId('viewer-row');
      await expect(rows).toHaveCount(1, { timeout: 20_000 });
      await expect(rows.locator('[data-path="relay"]')).toHaveCount(1, { timeout: 20_000 });
    });

    await test.step("closing the page on node B drops the viewer from node A's count", async () => {
      await expect(broadcaster.page.getByTestId('viewer-count')).toHaveText('1');
      await viewer.page.close();
      await expect(broadcaster.page.getByTestId('viewer-count')).toHaveText('0', {
        timeout: 20_000,
      });
      await expect(broadcaster.page.getByTestId('viewer-row')).toHaveCount(0);
    });

    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(opened.map(({ context }) => context.close()));
  }
});
