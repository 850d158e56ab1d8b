import { randomUUID } from 'node:crypto';
import { mgmt } from './env';
import { test, expect, signInAdmin, seedProduct, adminApi, stockQueueFor, state, shot, unique } from './fixtures';

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

test('an operator reads a dead letter with its reason and replays it; the stock change is applied', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Stool'), 10);
  const admin = await adminApi(request);
  const queue = stockQueueFor(product.id);
  // A valid stock adjustment that a stock worker gave up on, as workers/src/consumer.rs dead-letters it:
  // the original message on `oms.dlx` with the queue it died in as routing key, and the reason in headers.
  const messageId = randomUUID();
  const adjustmentId = randomUUID().replace(/-/g, '');
  const failedAt = new Date().toISOString();
  const envelope = {
    message_id: messageId,
    version: 1,
    correlation_id: product.id,
    causation_id: 'e2e-dead-letter',
    occurred_at: failedAt,
    type: 'AdjustStock',
    payload: { adjustment_id: adjustmentId, product_id: product.id, delta: 4, reason: 'Found in the back room', admin_id: admin.id },
  };
  const reason = 'e2e: the store did not answer while applying the adjustment';
  const published = (await mgmt('POST', `/api/exchanges/${encodeURIComponent(state().vhost)}/oms.dlx/publish`, {
    routing_key: queue,
    payload: JSON.stringify(envelope),
    payload_encoding: 'string',
    properties: {
      content_type: 'application/json',
      delivery_mode: 2,
      message_id: messageId,
      correlation_id: product.id,
      type: 'AdjustStock',
      headers: {
        'x-oms-reason': reason,
        'x-oms-attempts': 3,
        'x-oms-first-failure-at': failedAt,
        'x-oms-dead-lettered-at': failedAt,
        'x-oms-original-queue': queue,
      },
    },
  })) as { routed: boolean };
  expect(published.routed).toBe(true);

  await signInAdmin(page);
  await page.getByRole('link', { name: 'Queues' }).click();
  const row = page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ has: page.getByRole('cell', { name: queue, exact: true }) });
  // The depth comes from RabbitMQ's statistics, refreshed every few seconds.
  await row.getByRole('link', { name: '1', exact: true }).click({ timeout: 30_000 });
  await expect(page).toHaveURL(new RegExp(`/ops/dead-letters\\?queue=${queue.replace(/\./g, '\\.')}`));
  await expect(page.getByLabel('Queue')).toHaveValue(queue);
  // The letter says what it is about by name (the product's, linked), why, and after how many attempts; its message
  // id is never text on the page, only the reference its button copies.
  const letter = page.getByTestId('dead-letter').filter({ has: page.getByRole('link', { name: product.name, exact: true }) });
  await expect(letter).toContainText(`Stock adjustment — ${product.name}`);
  await expect(letter).toContainText(reason);
  await expect(letter).toContainText('attempts 3');
  await expect(letter.getByRole('link', { name: product.name, exact: true })).toHaveAttribute('href', `/admin/products/${product.id}`);
  await expect(letter.getByRole('button', { name: /^Copy reference/ })).toHaveAttribute('data-reference', messageId);
  expect(await page.evaluate(() => document.body.innerText)).not.toContain(messageId);
  // The message itself, folded away: its type and ids for whoever follows it in the logs.
  await letter.getByText('Message', { exact: true }).click();
  await expect(letter.locator('details')).toContainText('AdjustStock');
  await expect(letter.locator('details')).toContainText(messageId);
  await shot(page, 'ops-dead-letter');

  await letter.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Replay selected (1)' }).click();
  await expect(page.getByRole('main').getByRole('status')).toHaveText('Replayed 1, kept 0.');
  await expect(page.getByTestId('toast')).toContainText('Replayed 1, kept 0.');
  await expect(page.getByText(`No dead letters in ${queue}.`)).toBeVisible();

  // Replayed to its queue, the stock worker applies it. Waited for through the API: reloading the page
  // in a loop would also rotate the session's refresh cookie on every reload.
  await expect(async () => {
    const ledger = await request.get(`/api/products/${product.id}/ledger`, { headers: admin.headers });
    const body = (await ledger.json()) as { items: { reason: string | null; delta: number }[] };
    expect(body.items.some((e) => e.reason === 'Found in the back room' && e.delta === 4)).toBeTruthy();
  }).toPass({ timeout: 20_000 });
  await page.goto(`/admin/products/${product.id}`);
  const applied = page.getByRole('table', { name: 'Stock ledger' }).getByRole('row').filter({ hasText: 'Found in the back room' });
  await expect(applied).toContainText('+4');
  await expect(page.getByTestId('product-stock')).toHaveText('14');
  await shot(page, 'admin-product-after-replay');

  await page.getByRole('link', { name: 'Verify' }).click();
  await expect(page.getByText('All invariants hold.')).toBeVisible();
  await expect(page.getByText(/products and \d+ orders checked/)).toBeVisible();
});

test('the operator sees a health summary, dead letters of every queue without picking one, and verify with its time and checks', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Crate'), 10);
  const queue = stockQueueFor(product.id);
  const messageId = randomUUID();
  const published = (await mgmt('POST', `/api/exchanges/${encodeURIComponent(state().vhost)}/oms.dlx/publish`, {
    routing_key: queue,
    payload: JSON.stringify({ message_id: messageId, version: 1, type: 'AdjustStock', payload: {} }),
    payload_encoding: 'string',
    properties: { content_type: 'application/json', delivery_mode: 2, message_id: messageId, type: 'AdjustStock',
      headers: { 'x-oms-reason': 'e2e: summary', 'x-oms-attempts': 1, 'x-oms-original-queue': queue } },
  })) as { routed: boolean };
  expect(published.routed).toBe(true);

  await signInAdmin(page);
  await page.getByRole('link', { name: 'Queues' }).click();
  // Before the fix: rows of numbers and nothing saying what is wrong.
  const summary = page.getByRole('region', { name: /need(s)? attention/ });
  await expect(summary).toContainText(`dead letter`, { timeout: 30_000 });
  await expect(summary).toContainText(queue);
  await shot(page, 'ops-health');
  await summary.getByRole('link', { name: 'Look' }).first().click();

  // Every queue's dead letters, without choosing a queue first.
  await expect(page).toHaveURL(/\/ops\/dead-letters$/);
  await expect(page.getByLabel('Queue')).toHaveValue('');
  const letter = page.getByTestId('dead-letter').filter({ hasText: 'e2e: summary' });
  await expect(letter).toContainText(queue);
  await expect(letter.getByRole('button', { name: /^Copy reference/ })).toHaveAttribute('data-reference', messageId);
  // Replay all asks first.
  await page.getByRole('button', { name: 'Replay all' }).click();
  const dialog = page.getByRole('dialog', { name: /Replay all \d+ dead letters?/ });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Not now' }).click();
  await expect(letter).toBeVisible();

  await page.getByRole('link', { name: 'Verify' }).click();
  await expect(page.getByTestId('verify-when')).toContainText(/Checked .* in \d+ ms/);
  const checks = page.getByRole('list', { name: 'Checks' }).getByRole('listitem');
  await expect(checks).toHaveCount(5);
  await expect(checks.first()).toContainText('Passed');
  await expect(page.getByText("Every product's stock equals the sum of its ledger")).toBeVisible();
  await shot(page, 'ops-verify-checks');
});
