import dgram from 'node:dgram';
import net from 'node:net';
import { chromium, type Browser, type Page } from '@playwright/test';
import { chromiumArgs } from '../playwright.config';
import {
  acceptedAllocations,
  expect,
  selectedPairs,
  test as coturnTest,
  trackPeerConnections,
  type CoturnOptions,
} from '../helpers/coturn-fixture';
import {
  createNetns,
  netnsExists,
  netnsUnavailableReason,
  removeStaleNetns,
  type Netns,
} from '../helpers/netns';
import { collectPageErrors, goLive } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

/**
 * The ladder on a really blocked network: the viewer's Chromium runs inside a network namespace
 * (198.18.0.2) whose firewall drops UDP and most TCP. The app server listens on 0.0.0.0 and
 * coturn on 198.18.0.1, the host end of the namespace's veth pair. The broadcaster stays on the
 * host. Chromium's ICE-TCP would otherwise reach the broadcaster's passive TCP host candidate
 * (198.18.0.1:<random>) directly, which is why every TCP port but the two is dropped too.
 */

const mediaTimeoutMs = 5000;

const test = coturnTest.extend<object, { netns: Netns }>({
  netns: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixture's dependencies from this pattern
    async ({}, use) => {
      await removeStaleNetns();
      const netns = await createNetns();
      try {
        await use(netns);
      } finally {
        await netns.remove();
      }
      if (await netnsExists(netns.name)) throw new Error(`namespace ${netns.name} survived`);
    },
    { scope: 'worker' },
  ],
  // coturn must listen (and relay) where the namespace can reach it; the veth exists by now.
  coturnOptions: [
    async ({ netns }, use) => {
      const options: CoturnOptions = {
        listenIp: netns.hostIp,
        extraArgs: ['--relay-ip', netns.hostIp],
      };
      await use(options);
    },
    { scope: 'worker' },
  ],
});

test.use({ serverEnv: { HOST: '0.0.0.0', MEDIA_TIMEOUT_MS: String(mediaTimeoutMs) } });

test.beforeAll(async () => {
  const reason = await netnsUnavailableReason();
  test.skip(reason !== null, reason ?? '');
});

/** A Chromium inside the namespace, on the app's 198.18.0.1 origin (treated as secure). */
async function launchViewerInNetns(
  netns: Netns,
  origin: string,
): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await chromium.launch({
    executablePath: await netns.chromiumWrapper(),
    args: [...chromiumArgs, `--unsafely-treat-insecure-origin-as-secure=${origin}`],
  });
  try {
    const context = await browser.newContext({ baseURL: origin });
    await trackPeerConnections(context);
    const page = await context.newPage();
    return { browser, page, errors: collectPageErrors(page) };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

async function viewerIdOnBroadcaster(page: Page): Promise<string> {
  const row = page.getByTestId('viewer-row');
  await expect(row).toHaveCount(1, { timeout: 20_000 });
  const id = await row.getAttribute('data-viewer-id');
  expect(id).toBeTruthy();
  return id!;
}

test('the namespace firewall drops UDP and every TCP port but the allowed one', async ({
  netns,
}) => {
  const open = net.createServer((socket) => socket.end()).listen(0, netns.hostIp);
  const closed = net.createServer((socket) => socket.end()).listen(0, netns.hostIp);
  const udp = dgram.createSocket('udp4');
  const received: string[] = [];
  udp.on('message', (message) => received.push(String(message)));
  try {
    await Promise.all([
      new Promise((resolve) => open.once('listening', resolve)),
      new Promise((resolve) => closed.once('listening', resolve)),
      new Promise((resolve) => udp.bind(0, netns.hostIp, () => resolve(null))),
    ]);
    const openPort = (open.address() as net.AddressInfo).port;
    const closedPort = (closed.address() as net.AddressInfo).port;
    const udpPort = udp.address().port;

    await netns.clearFirewall();
    expect(await netns.tcpReachable(closedPort), 'TCP reaches the host before blocking').toBe(true);
    await netns.sendUdp(udpPort, 'before');
    await expect.poll(() => received).toContain('before');

    await netns.blockAllExcept({ allowTcpPorts: [openPort] });
    expect(await netns.tcpReachable(openPort), 'the allowed TCP port stays open').toBe(true);
    expect(await netns.tcpReachable(closedPort), 'other TCP ports are dropped').toBe(false);
    await netns.sendUdp(udpPort, 'after');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received, 'UDP is dropped').not.toContain('after');
  } finally {
    await netns.clearFirewall();
    open.close();
    closed.close();
    udp.close();
  }
});

test('with UDP blocked, a viewer with no URL flag lands on TURN over TCP', async ({
  page,
  server,
  coturn,
  netns,
}) => {
  test.setTimeout(90_000);
  const origin = `http://${netns.hostIp}:${server.port}`;
  await netns.blockAllExcept({ allowTcpPorts: [server.port, coturn.port] });
  let viewerBrowser: Browser | null = null;
  try {
    const room = await goLive(page, { viaHome: false });
    const viewer = await launchViewerInNetns(netns, origin);
    viewerBrowser = viewer.browser;
    await viewer.page.goto(`/watch/${room}`);

    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 40_000 });
    await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'turn');
    await expect(viewer.page.getByTestId('connection-reason')).toContainText('TCP');

    const pairs = await selectedPairs(viewer.page);
    const active = pairs.filter((p) => p.bytesReceived > 0);
    expect(active, JSON.stringify(pairs)).toHaveLength(1);
    expect(active[0], 'a relay candidate reached over TCP').toMatchObject({
      localType: 'relay',
      relayProtocol: 'tcp',
    });

    const viewerId = await viewerIdOnBroadcaster(page);
    await expect(page.getByTestId('viewer-row').locator('[data-path="turn"]')).toHaveCount(1);
    await expect
      .poll(() => acceptedAllocations(coturn, viewerId).length, {
        message: `coturn accepted no ALLOCATE for ${viewerId}`,
      })
      .toBeGreaterThan(0);
    expect(viewer.errors, 'uncaught page errors in the namespace viewer').toEqual([]);
  } finally {
    await viewerBrowser?.close();
    await netns.clearFirewall();
  }
});

test('with UDP and the TURN port blocked, the viewer falls back to the relay by itself', async ({
  page,
  server,
  coturn,
  netns,
}) => {
  test.setTimeout(90_000);
  const origin = `http://${netns.hostIp}:${server.port}`;
  await netns.blockAllExcept({ allowTcpPorts: [server.port] });
  let viewerBrowser: Browser | null = null;
  try {
    const room = await goLive(page, { viaHome: false });
    const viewer = await launchViewerInNetns(netns, origin);
    viewerBrowser = viewer.browser;
    await viewer.page.goto(`/watch/${room}`);

    // MEDIA_TIMEOUT_MS plus relay start-up; well under the 30 s WebRTC retry interval.
    await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute('data-path', 'relay', {
      timeout: mediaTimeoutMs + 20_000,
    });
    await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 30_000 });
    await expect(viewer.page.getByTestId('connection-reason')).toContainText(
      `No WebRTC media after ${mediaTimeoutMs / 1000} s`,
    );

    const viewerId = await viewerIdOnBroadcaster(page);
    await expect(page.getByTestId('viewer-row').locator('[data-path="relay"]')).toHaveCount(1);
    expect(
      acceptedAllocations(coturn, viewerId),
      'the viewer never reached coturn (its port is dropped)',
    ).toEqual([]);
    const pairs = await selectedPairs(viewer.page);
    expect(
      pairs.filter((p) => p.bytesReceived > 0),
      `no WebRTC path carries media: ${JSON.stringify(pairs)}`,
    ).toEqual([]);
    expect(viewer.errors, 'uncaught page errors in the namespace viewer').toEqual([]);
  } finally {
    await viewerBrowser?.close();
    await netns.clearFirewall();
  }
});
