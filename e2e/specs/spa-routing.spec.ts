import { expect, test } from '../fixtures';

test('a /watch/<room> deep link loads the app (history fallback)', async ({ page, request }) => {
  const raw = await request.get('/watch/123456');
  expect(raw.status()).toBe(200);
  expect(raw.headers()['content-type']).toContain('text/html');

  await page.goto('/watch/123456');
  await expect(page.getByTestId('room-not-found')).toBeVisible();
});

test('a /broadcast deep link loads the broadcast page', async ({ page }) => {
  await page.goto('/broadcast');
  await expect(page.getByTestId('go-live')).toBeVisible();
});

test('/healthz answers JSON', async ({ request }) => {
  const response = await request.get('/healthz');
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('application/json');
  const body: unknown = await response.json();
  expect(typeof body).toBe('object');
  expect(body).not.toBeNull();
});
