import { test, expect, signInAdmin, shot } from './fixtures';

test('an operator sees the queues, dead letters and the verify report', async ({ page }) => {
  await signInAdmin(page);
  await page.getByRole('link', { name: 'Queues' }).click();
  const table = page.getByRole('table', { name: 'Queues' });
  await expect(table).toBeVisible();
  await expect(table.getByRole('row')).not.toHaveCount(1);
  await expect(table.getByText(/stock/).first()).toBeVisible();
  // After a couple of refreshes each queue has a depth sparkline.
  await expect(table.getByRole('img').first()).toBeVisible({ timeout: 20_000 });
  await shot(page, 'ops-queues');

  await page.getByRole('link', { name: 'Dead letters' }).click();
  await expect(page.getByLabel('Queue')).toBeVisible();
  await shot(page, 'ops-dead-letters');

  await page.getByRole('link', { name: 'Verify' }).click();
  await expect(page.getByText(/products and \d+ orders checked/)).toBeVisible();
  await shot(page, 'ops-verify');
});
