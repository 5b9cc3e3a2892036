import { expect, test } from '../fixtures';

/** Well-formed but never handed out in these tests (the server hands out random codes). */
const unknownRoom = '987654';

for (const badCode of ['12a456', '12345']) {
  test(`the home join box rejects "${badCode}" without navigating`, async ({ page }) => {
    await page.goto('/');
    await page.getByTestId('join-room-input').fill(badCode);
    await page.getByTestId('join-room-submit').click();
    await expect(page.getByTestId('join-error')).toBeVisible();
    await expect(page).toHaveURL(/\/$/);
  });
}

test('a well-formed but unknown code from the join box shows "room not found"', async ({
  page,
}) => {
  await page.goto('/');
  await page.getByTestId('join-room-input').fill(unknownRoom);
  await page.getByTestId('join-room-submit').click();
  await expect(page).toHaveURL(new RegExp(`/watch/${unknownRoom}$`));
  await expect(page.getByTestId('room-not-found')).toBeVisible();
  await expect(page.getByTestId('remote-video')).toHaveCount(0);
});
