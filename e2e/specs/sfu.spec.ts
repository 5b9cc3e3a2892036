import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '../fixtures';
import { collectPageErrors, goLive, newIsolatedPage, type Viewer } from '../helpers/session';
import { expectVideoPlaying } from '../helpers/video';

/**
 * The server WebRTC rung: the broadcaster publishes one upstream copy to the server only while
 * someone needs it, and the server forwards it to SFU viewers and to WHEP players.
 */

/** A plain WHEP player: RTCPeerConnection + fetch, no app code, on another origin. */
const WHEP_PAGE = `<!doctype html><meta charset="utf-8"><title>WHEP player</title>
<video id="v" data-testid="whep-video" autoplay muted playsinline></video>
<script>
  window.startWhep = async (endpoint) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (e) => { stream.addTrack(e.track); document.getElementById('v').srcObject = stream; };
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (res.status !== 201) throw new Error('WHEP POST answered ' + res.status + ': ' + (await res.text()));
    const location = new URL(res.headers.get('Location'), endpoint).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    window.whep = { pc, location };
    return location;
  };
  window.stopWhep = async () => (await fetch(window.whep.location, { method: 'DELETE' })).status;
</script>`;

test('?path=sfu viewers play through the server SFU, and a WHEP page plays the same room', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(150_000);
  const pageErrors = collectPageErrors(page);
  const viewers: Viewer[] = [];
  const pageServers: Server[] = [];
  const room = await goLive(page, { viaHome: false });
  try {
    await test.step('two ?path=sfu viewers play with path sfu and advancing frames', async () => {
      for (let i = 0; i < 2; i++) {
        const viewer = await newIsolatedPage(browser, baseURL!);
        pageErrors.push(...collectPageErrors(viewer.page));
        viewers.push(viewer);
        await viewer.page.goto(`/watch/${room}?path=sfu`);
      }
      for (const viewer of viewers) {
        await expectVideoPlaying(viewer.page, 'remote-video', { timeoutMs: 40_000 });
        await expect(viewer.page.getByTestId('connection-path')).toHaveAttribute(
          'data-path',
          'sfu',
        );
        await expect(viewer.page.getByTestId('connection-reason')).toContainText(/path=sfu/);
      }
      // The media really comes from the server: the viewer's one peer connection is to the SFU
      // and its codec is the SFU's (H.264), not the mesh's AV1.
      await expect(viewers[0]!.page.getByTestId('negotiated-codec')).toHaveAttribute(
        'data-codec',
        'H264',
        {
          timeout: 15_000,
        },
      );
    });

    await test.step('the broadcaster publishes one upstream copy and lists both viewers as SFU', async () => {
      await expect(page.getByTestId('sfu-upstream')).toHaveAttribute('data-state', 'live', {
        timeout: 20_000,
      });
      await expect(page.getByTestId('sfu-upstream')).toHaveAttribute('data-codec', 'H264');
      const rows = page.getByTestId('viewer-row');
      await expect(rows.locator('[data-path="sfu"]')).toHaveCount(2, { timeout: 20_000 });
      await expect(page.getByTestId('path-counts')).toHaveAttribute('data-sfu', '2');
    });

    await test.step('a plain WHEP page on another origin plays the room', async () => {
      const player = await newIsolatedPage(browser, baseURL!);
      viewers.push(player);
      // Its own origin (another port), as a player embedded on some other site would be.
      const site = await serveWhepPage();
      pageServers.push(site.server);
      await player.page.goto(site.url);
      const location = await player.page.evaluate(
        (endpoint) =>
          (window as unknown as { startWhep(e: string): Promise<string> }).startWhep(endpoint),
        `${baseURL}/whep/${room}`,
      );
      expect(location).toMatch(new RegExp(`/whep/${room}/[A-Za-z0-9_-]{22}$`));
      await expectVideoPlaying(player.page, 'whep-video', { timeoutMs: 30_000 });
      await expect(page.getByTestId('path-counts')).toHaveAttribute('data-whep', '1', {
        timeout: 15_000,
      });
      const status = await player.page.evaluate(() =>
        (window as unknown as { stopWhep(): Promise<number> }).stopWhep(),
      );
      expect(status).toBe(200);
      await expect(page.getByTestId('path-counts')).toHaveAttribute('data-whep', '0', {
        timeout: 15_000,
      });
    });

    await test.step('viewers leave: the upstream stops once nobody needs it', async () => {
      await Promise.all(viewers.splice(0).map(({ context }) => context.close()));
      await expect(page.getByTestId('sfu-upstream')).toHaveCount(0, { timeout: 30_000 });
    });
    expect(pageErrors, 'uncaught page errors').toEqual([]);
  } finally {
    await Promise.all(viewers.map(({ context }) => context.close()));
    for (const server of pageServers) server.close();
  }
});

async function serveWhepPage(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(WHEP_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://localhost:${(server.address() as AddressInfo).port}/` };
}
