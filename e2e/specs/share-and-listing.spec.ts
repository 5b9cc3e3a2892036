import { expect, test } from '../fixtures';
import { goLive, newIsolatedPage } from '../helpers/session';

interface ListedRoomsResponse {
  rooms: Array<{ roomId: string; title: string; viewerCount: number }>;
}

test('a live room shows a copyable watch link and a QR code', async ({ page, baseURL }) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const room = await goLive(page, { viaHome: false });

  await expect(page.getByTestId('room-qr').locator('svg')).toBeVisible();
  await page.getByTestId('copy-link').click();
  await expect
    .poll(() => page.evaluate(() => navigator.clipboard.readText()))
    .toBe(`${baseURL}/watch/${room}`);

  await page.getByTestId('stop-broadcast').click();
});

test('only listed rooms appear in /api/rooms and on the home page', async ({
  page,
  browser,
  baseURL,
  request,
}) => {
  test.setTimeout(90_000);
  const title = `e2e listed ${Date.now()}`;
  const listedRoom = await goLive(page, { viaHome: false, listed: true, title });
  const unlisted = await newIsolatedPage(browser, baseURL!);
  try {
    const unlistedRoom = await goLive(unlisted.page, { viaHome: false, listed: false });

    const response = await request.get('/api/rooms');
    expect(response.status()).toBe(200);
    const { rooms } = (await response.json()) as ListedRoomsResponse;
    const roomIds = rooms.map((room) => room.roomId);
    expect(roomIds).toContain(listedRoom);
    expect(roomIds).not.toContain(unlistedRoom);
    expect(rooms.find((room) => room.roomId === listedRoom)?.title).toBe(title);

    const home = await unlisted.context.newPage();
    await home.goto('/');
    const listedEntry = home.getByTestId('live-room').filter({ hasText: listedRoom });
    await expect(listedEntry).toContainText(title);
    await expect(home.getByTestId('live-room').filter({ hasText: unlistedRoom })).toHaveCount(0);

    await listedEntry.click();
    await expect(home).toHaveURL(new RegExp(`/watch/${listedRoom}$`));
    await expect(home.getByTestId('remote-video')).toBeVisible();

    const unmute = home.getByTestId('unmute');
    await unmute.click();
    await expect(unmute).toHaveAttribute('aria-pressed', 'true');
    await expect
      .poll(() =>
        home.getByTestId('remote-video').evaluate((video) => (video as HTMLVideoElement).muted),
      )
      .toBe(false);
  } finally {
    await unlisted.context.close();
  }
});
