import { test, expect, signInAdmin, seedProduct, unique, registerApi, placeOrderApi, state } from './fixtures';

test('an admin adds an endpoint, sees its secret once, rotates, disables, edits, reads deliveries, retries and deletes', async ({ page, request }) => {
  await signInAdmin(page);
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await expect(page.getByRole('heading', { name: 'Webhooks' })).toBeVisible();

  // Not a receiver: this server answers 404, so every attempt fails and shows in the log.
  const url = `${state().baseURL}/api/${unique('no-receiver')}`;
  await page.getByLabel('Endpoint URL').fill(url);
  await page.getByLabel('Description').fill('Warehouse');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = page.getByTestId('webhook-secret');
  await expect(secret).toHaveText(/^whsec_[A-Za-z0-9+/=]{40,}$/);
  const first = await secret.textContent();
  await page.getByRole('button', { name: 'I have saved it' }).click();
  await expect(secret).toHaveCount(0);
  await page.reload();
  await expect(page.getByText(url)).toBeVisible();
  expect(await page.content()).not.toContain(first!);

  const row = page.getByRole('list', { name: 'Endpoints' }).getByRole('listitem').filter({ hasText: url });
  await row.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
  await expect(secret).toHaveText(/^whsec_/);
  expect(await secret.textContent()).not.toBe(first);
  await expect(row).toContainText('previous secret valid until');
  await page.getByRole('button', { name: 'I have saved it' }).click();

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled: disabled by an administrator');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toContainText('Enabled');
  await row.getByRole('button', { name: 'Edit' }).click();
  await row.getByLabel('Description').fill('Warehouse, Berlin');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText('Warehouse, Berlin');

  // An order is placed: its delivery fails (404) and is retried on the schedule.
  const product = await seedProduct(request, unique('Crate'));
  const shopper = await registerApi(request);
  await placeOrderApi(request, shopper, product.id);
  await row.getByRole('link', { name: 'Deliveries' }).click();
  await expect(page.getByRole('heading', { name: 'Webhook deliveries' })).toBeVisible();
  const delivery = page.getByRole('list', { name: 'Deliveries' }).getByRole('listitem').first();
  await expect(delivery).toContainText('order.placed', { timeout: 30_000 });
  await expect(delivery).toContainText('last 404', { timeout: 30_000 });
  await delivery.getByRole('button', { name: 'Attempts' }).click();
  // The receiver's answer is shown as text.
  await expect(delivery.locator('pre').first()).toContainText('not_found');
  await delivery.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByText('Retry scheduled.')).toBeVisible();
  // Paged by cursor; the status filter is in the address (nothing reaches this receiver).
  await expect(page.getByTestId('page-range')).toHaveText(/^1–\d+ of \d+$/);
  await page.getByLabel('Status').selectOption('succeeded');
  await expect(page.getByText('No deliveries succeeded yet.')).toBeVisible();
  await expect(page).toHaveURL(/[?&]status=succeeded/);
  await page.getByLabel('Status').selectOption('');
  await expect(delivery).toContainText('order.placed');

  await page.getByRole('link', { name: 'All endpoints' }).click();
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText(url)).toHaveCount(0);
});
