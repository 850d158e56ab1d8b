// The analytics page against the live system: its headline figures equal the API's summary, the chart draws, the
// table view lists the buckets, a product running low links to its page, and an order placed while the page is open
// shows up without a reload. Other tests share the database, so figures are compared with the API's, not constants.
import AxeBuilder from '@axe-core/playwright';
import type { APIRequestContext } from '@playwright/test';
import { test, expect, signInAdmin, seedProduct, registerApi, placeOrderApi, adminApi, shot, unique } from './fixtures';

async function todaysSummary(request: APIRequestContext) {
  const admin = await adminApi(request);
  const now = new Date();
  const from = new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
  const r = await request.get('/api/analytics/summary', { headers: admin.headers, params: { from } });
  expect(r.status()).toBe(200);
  return (await r.json()) as { totals: { placed: number; cancelled: number }; top_products: { name: string }[]; low_stock: { name: string }[] };
}

test('the analytics page shows today\'s figures, a chart and the low-stock list, and follows new orders', async ({ page, request }) => {
  // A best seller today (40 units), and a product that runs out (named to sort early among the lowest).
  const product = await seedProduct(request, unique('Kettle'), 500);
  const scarce = await seedProduct(request, unique('Aa-Scarce'), 1);
  const buyer = await registerApi(request, 'Analytics Buyer');
  await placeOrderApi(request, buyer, product.id, 40);
  await placeOrderApi(request, buyer, scarce.id, 1);
  // Wait until the projection has it: the API's figure counts that order.
  await expect.poll(async () => {
    const s = await todaysSummary(request);
    return s.top_products.some((p) => p.name === product.name) && s.low_stock.some((p) => p.name === scarce.name);
  }).toBe(true);
  const before = await todaysSummary(request);

  await signInAdmin(page);
  await page.getByRole('link', { name: 'Analytics' }).click();
  await expect(page).toHaveURL(/\/admin\/analytics/);
  await expect(page.getByRole('heading', { name: 'Analytics' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Today' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('figure-orders')).toHaveText(String(before.totals.placed));
  await expect(page.getByTestId('figure-cancellation-rate')).toHaveText(
    `${((before.totals.cancelled / before.totals.placed) * 100).toFixed(1)}%`,
  );
  // The chart: an SVG with bars and the revenue line, and a legend naming both.
  const chart = page.getByTestId('analytics-chart');
  await expect(chart.locator('svg.recharts-surface').first()).toBeVisible();
  await expect(chart.locator('.recharts-bar-rectangle').first()).toBeAttached();
  await expect(chart.getByText('Orders placed')).toBeVisible();
  await expect(chart.getByText('Revenue')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Top products' }).getByRole('link', { name: product.name }).first()).toBeVisible();
  await shot(page, 'admin-analytics');

  // Sold out: listed as running low, linked to the product.
  const low = page.getByRole('list', { name: 'Products running low' });
  await expect(low.getByRole('link', { name: scarce.name })).toHaveAttribute('href', `/admin/products/${scarce.id}`);

  // The same numbers as a table.
  await page.getByRole('button', { name: 'Show table' }).click();
  const table = page.getByRole('table', { name: 'Orders and revenue per bucket' });
  await expect(table).toBeVisible();
  await expect(table.getByRole('row')).not.toHaveCount(1);
  const placedInTable = await table.locator('tbody tr td:nth-child(2)').allTextContents();
  expect(placedInTable.reduce((sum, n) => sum + Number(n), 0)).toBe(before.totals.placed);
  await page.getByRole('button', { name: 'Show chart' }).click();

  // Live: an order placed now is counted without a reload.
  await placeOrderApi(request, buyer, product.id, 1);
  await expect(page.getByTestId('figure-orders')).toHaveText(String(before.totals.placed + 1), { timeout: 20_000 });

  // The range is in the URL: a reload keeps it.
  await page.getByRole('button', { name: 'Last 7 days' }).click();
  await expect(page).toHaveURL(/range=7d/);
  await page.reload();
  await expect(page.getByRole('button', { name: 'Last 7 days' })).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('analytics-range')).toContainText('by day');

  const scan = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(scan.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
});
