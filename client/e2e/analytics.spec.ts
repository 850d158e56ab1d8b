// The analytics page against the live system. The first test: its headline figures equal the API's summary, the chart
// draws, the table view lists the buckets, a product running low links to its page, and an order placed while the page
// is open shows up without a reload. The second: a known set of orders (placed, cancelled with and without a reason,
// rejected, delivered) moves every figure on the page by exactly what those orders imply. Other tests share the
// database, so figures are compared with the API's or as a difference from before, never with constants.
import AxeBuilder from '@axe-core/playwright';
import type { APIRequestContext, Locator, Page } from '@playwright/test';
import { statSync } from 'node:fs';
import type { components } from '../src/api/schema';
import { STATE_FILE } from './env';
import { test, expect, signInAdmin, seedProduct, registerApi, placeOrderApi, adminApi, shot, unique, type ApiUser } from './fixtures';

type Summary = components['schemas']['SummaryOut'];
type Order = components['schemas']['OrderOut'];
type Status = components['schemas']['OrderStatus'];

/** The start of today as the page's "Today" asks for it: midnight in the browser's zone (UTC, playwright.config.ts). */
function startOfToday(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

async function todaysSummary(request: APIRequestContext, signedIn?: ApiUser): Promise<Summary> {
  const admin = signedIn ?? await adminApi(request);
  const r = await request.get('/api/analytics/summary', { headers: admin.headers, params: { from: startOfToday().toISOString() } });
  expect(r.status()).toBe(200);
  return (await r.json()) as Summary;
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

// ---- A known situation, and exactly what it adds to every figure ----

const usd = (cents: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);
/** `$1,234.56` → 123456. */
const cents = (text: string) => Math.round(Number(text.replace(/[^0-9.-]/g, '')) * 100);
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;
/** What the projection counts a cancellation without a reason under (contracts/src/analytics.rs). */
const NO_REASON = '(no reason given)';

/** A lead time as the page writes it (`850 ms`, `4.2 s`, `12 min`, `3.5 h`, `2.1 days`), with what its rounding hides. */
function duration(text: string): { ms: number; slack: number } {
  const m = /^(\d+(?:\.\d)?) (ms|s|min|h|days)$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}"`);
  const unit = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, days: 86_400_000 }[m[2] as 'ms'];
  return { ms: Number(m[1]) * unit, slack: m[2] === 'ms' ? 0 : m[2] === 'min' ? unit / 2 : unit / 20 };
}

async function placeOrder(request: APIRequestContext, user: ApiUser, items: { product_id: string; quantity: number }[]) {
  const r = await request.post('/api/orders', {
    headers: { ...user.headers, 'idempotency-key': unique('key') },
    data: { items },
  });
  expect(r.status(), await r.text()).toBe(202);
  return ((await r.json()) as Order).id;
}

async function orderOf(request: APIRequestContext, user: ApiUser, id: string) {
  const r = await request.get(`/api/orders/${id}`, { headers: user.headers });
  expect(r.status(), await r.text()).toBe(200);
  return (await r.json()) as Order;
}

/** Waits for the order's worker to decide: the API checks each transition against the order as stored. */
async function reaches(request: APIRequestContext, user: ApiUser, id: string, status: Status) {
  await expect.poll(async () => (await orderOf(request, user, id)).status, { message: `order ${id} ${status}` }).toBe(status);
}

/** An admin's move along the lifecycle (with a reason, for a cancellation), once the worker has made it. */
async function move(request: APIRequestContext, admin: ApiUser, id: string, status: Status, reason?: string) {
  const r = await request.post(`/api/orders/${id}/status`, { headers: admin.headers, data: reason ? { status, reason } : { status } });
  expect(r.status(), await r.text()).toBe(202);
  await reaches(request, admin, id, status);
}

/**
 * Today's summary once nothing moves any more (orders of earlier tests still being decided or projected would
 * otherwise land in the difference): the same figures, and the same orders by status, twice a second apart.
 */
async function settledSummary(request: APIRequestContext, admin: ApiUser): Promise<Summary> {
  let last = '';
  for (let i = 0; i < 30; i++) {
    const s = await todaysSummary(request, admin);
    const stats = await (await request.get('/api/orders/stats', { headers: admin.headers })).json();
    const now = JSON.stringify([s.totals, s.lead_times_ms, s.cancellation_reasons, s.orders_by_status, stats]);
    if (now === last) return s;
    last = now;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error('the analytics figures kept changing for 30 s');
}

/** The cells of the row that a table's row header or link names. */
const rowOf = (table: Locator, has: Locator) => table.getByRole('row').filter({ has }).getByRole('cell');

/** A column of a table's body, as text. */
const column = (table: Locator, n: number) => table.locator(`tbody tr td:nth-child(${n})`).allTextContents();
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The lead-time row of a stage: its sample count in the header, then the median and 90th percentile. */
function leadTime(page: Page, stage: string, samples: number) {
  const table = page.getByRole('table', { name: 'Lead times' });
  return rowOf(table, page.getByRole('rowheader', { name: `${stage} (${samples})`, exact: true }));
}

test('the analytics page moves by exactly what a known set of orders adds: figures, best sellers, lead times, reasons, stock, chart and table', async ({ page, request }) => {
  test.setTimeout(180_000);
  // Today's range must hold the whole test: too close to midnight (UTC), start after it.
  const toMidnight = startOfToday().getTime() + 86_400_000 - Date.now();
  if (toMidnight < 120_000) await page.waitForTimeout(toMidnight + 2_000);

  // Two products with known prices: a lamp, and a vase that will sell out (named to sort early among the lowest).
  const lamp = await seedProduct(request, unique('Analytics Lamp'), 1000, 1234);
  const vase = await seedProduct(request, unique('Aa-Analytics Vase'), 150, 5678);
  const shopper = await registerApi(request, 'Analytics Shopper');
  const admin = await adminApi(request);
  const reason = `Customer asked by phone ${unique('ref')}`;

  const before = await settledSummary(request, admin);
  expect(before.currency).toBe('USD');
  await signInAdmin(page);
  await page.goto('/admin/analytics?range=today');
  await expect(page.getByTestId('figure-orders')).toHaveText(String(before.totals.placed));
  await expect(page.getByTestId('figure-revenue')).toHaveText(usd(before.totals.revenue.amount));

  // Delivered: 100 lamps and every vase, confirmed, shipped and delivered by the admin.
  const delivered = await placeOrder(request, shopper, [{ product_id: lamp.id, quantity: 100 }, { product_id: vase.id, quantity: 150 }]);
  // Cancelled by the shopper (who gives no reason: the API takes none from them), and by the admin with one.
  const byShopper = await placeOrder(request, shopper, [{ product_id: lamp.id, quantity: 60 }]);
  const byAdmin = await placeOrder(request, shopper, [{ product_id: lamp.id, quantity: 40 }]);
  // Rejected: more vases than there ever were.
  const rejected = await placeOrder(request, shopper, [{ product_id: vase.id, quantity: 151 }]);
  for (const id of [delivered, byShopper, byAdmin]) await reaches(request, shopper, id, 'PLACED');
  await reaches(request, shopper, rejected, 'REJECTED');
  const cancel = await request.post(`/api/orders/${byShopper}/cancel`, { headers: shopper.headers });
  expect(cancel.status(), await cancel.text()).toBe(202);
  await reaches(request, shopper, byShopper, 'CANCELLED');
  await move(request, admin, byAdmin, 'CANCELLED', reason);
  for (const status of ['CONFIRMED', 'SHIPPED', 'DELIVERED'] as const) await move(request, admin, delivered, status);

  // What that adds. Placed (and so revenue) counts the cancelled orders too, not the rejected one.
  const placedLines = [[lamp, 100], [vase, 150], [lamp, 60], [lamp, 40]] as const;
  const revenue = sum(placedLines.map(([p, n]) => p.price.amount * n));
  const units = (p: typeof lamp) => sum(placedLines.filter(([q]) => q.id === p.id).map(([, n]) => n));
  const sales = (p: typeof lamp) => ({ units: units(p), revenue: units(p) * p.price.amount });
  const was = (status: string) => before.orders_by_status[status] ?? 0;
  const reasonCount = (s: Summary, r: string) => s.cancellation_reasons.find((x) => x.reason === r)?.count ?? 0;
  const expected = {
    placed: before.totals.placed + 3,
    cancelled: before.totals.cancelled + 2,
    rejected: before.totals.rejected + 1,
    delivered: before.totals.delivered + 1,
    revenue: before.totals.revenue.amount + revenue,
    placedToShipped: before.lead_times_ms.placed_to_shipped.samples + 1,
    shippedToDelivered: before.lead_times_ms.shipped_to_delivered.samples + 1,
    lamp: sales(lamp),
    vase: sales(vase),
    reason: 1,
    noReason: reasonCount(before, NO_REASON) + 1,
    vaseLeft: 0,
    status: { DELIVERED: was('DELIVERED') + 1, CANCELLED: was('CANCELLED') + 2, REJECTED: was('REJECTED') + 1 },
  };
  const figures = (s: Summary) => {
    const top = (p: typeof lamp) => s.top_products.find((x) => x.product_id === p.id);
    return {
      placed: s.totals.placed,
      cancelled: s.totals.cancelled,
      rejected: s.totals.rejected,
      delivered: s.totals.delivered,
      revenue: s.totals.revenue.amount,
      placedToShipped: s.lead_times_ms.placed_to_shipped.samples,
      shippedToDelivered: s.lead_times_ms.shipped_to_delivered.samples,
      lamp: top(lamp) && { units: top(lamp)!.units, revenue: top(lamp)!.revenue.amount },
      vase: top(vase) && { units: top(vase)!.units, revenue: top(vase)!.revenue.amount },
      reason: reasonCount(s, reason),
      noReason: reasonCount(s, NO_REASON),
      vaseLeft: s.low_stock.find((x) => x.product_id === vase.id)?.stock,
      status: { DELIVERED: s.orders_by_status.DELIVERED, CANCELLED: s.orders_by_status.CANCELLED, REJECTED: s.orders_by_status.REJECTED },
    };
  };
  // The projection follows the events a moment later: wait until the API has all of it (the page reads the same).
  await expect.poll(async () => figures(await todaysSummary(request, admin)), { timeout: 30_000 }).toEqual(expected);

  await page.reload();
  // Headline figures.
  await expect(page.getByTestId('figure-orders')).toHaveText(String(expected.placed));
  await expect(page.getByTestId('figure-revenue')).toHaveText(usd(expected.revenue));
  await expect(page.getByTestId('figure-aov')).toHaveText(usd(Math.round(expected.revenue / expected.placed)));
  await expect(page.getByTestId('figure-cancellation-rate')).toHaveText(percent(expected.cancelled, expected.placed));

  // Best sellers: this test's products, by units and revenue.
  const top = page.getByRole('table', { name: 'Top products' });
  for (const p of [lamp, vase]) {
    await expect(rowOf(top, page.getByRole('link', { name: p.name, exact: true })))
      .toHaveText([p.name, String(sales(p).units), usd(sales(p).revenue)]);
  }

  // Lead times: one more order each way, and figures that can be true of this run.
  const order = await orderOf(request, admin, delivered);
  const at = (s: Status) => Date.parse(order.history.find((h) => h.to === s && !h.refused)!.at);
  const ours = { placedToShipped: at('SHIPPED') - at('PLACED'), shippedToDelivered: at('DELIVERED') - at('SHIPPED') };
  // Percentiles are the middle of a histogram bin (~9 % wide, contracts/src/analytics.rs): within 5 % of the truth. No
  // lead time of this run (its database is new) is longer than the run so far.
  const longest = (Date.now() - statSync(STATE_FILE).mtimeMs) * 1.05;
  for (const [stage, key] of [['Placed to shipped', 'placedToShipped'], ['Shipped to delivered', 'shippedToDelivered']] as const) {
    const cells = leadTime(page, stage, expected[key]);
    await expect(cells).toHaveCount(2);
    const [p50, p90] = (await cells.allTextContents()).map(duration);
    expect(p50.ms, `${stage}: median`).toBeGreaterThanOrEqual(1);
    expect(p50.ms - p50.slack, `${stage}: median ≤ 90th percentile`).toBeLessThanOrEqual(p90.ms + p90.slack);
    expect(p90.ms - p90.slack, `${stage}: no longer than the run`).toBeLessThanOrEqual(longest);
    // When this order is the range's only sample (this spec run on its own), both are its lead time.
    if (expected[key] === 1) {
      for (const q of [p50, p90]) {
        expect(Math.abs(q.ms - ours[key]), `${stage}: this order's ${ours[key]} ms`).toBeLessThanOrEqual(ours[key] * 0.05 + 1 + q.slack);
      }
    }
  }
  await expect(page.getByTestId('lead-placed-shipped-p50')).not.toHaveText('—');
  await expect(page.getByTestId('lead-shipped-delivered-p50')).not.toHaveText('—');

  // Cancellation reasons: the admin's, once, and one more without a reason (the shopper's).
  const reasons = page.getByRole('list', { name: 'Cancellation reasons' });
  await expect(reasons.getByRole('listitem').filter({ hasText: reason }).locator('span')).toHaveText([reason, '1']);
  await expect(reasons.getByRole('listitem').filter({ hasText: NO_REASON }).locator('span'))
    .toHaveText([NO_REASON, String(expected.noReason)]);

  // Running low: the sold-out vase (the lamp has 900 left), linked to its page.
  const low = page.getByRole('list', { name: 'Products running low' });
  const vaseLow = low.getByRole('listitem').filter({ has: page.getByRole('link', { name: vase.name, exact: true }) });
  await expect(vaseLow.locator('span')).toHaveText(`0 left (alert at ${vase.low_stock_threshold})`);
  await expect(vaseLow.getByRole('link')).toHaveAttribute('href', `/admin/products/${vase.id}`);
  await expect(low.getByRole('link', { name: lamp.name, exact: true })).toHaveCount(0);

  // Orders by status (all time).
  const byStatus = page.getByRole('list', { name: 'Orders by status' });
  for (const [status, n] of Object.entries(expected.status)) {
    await expect(byStatus.getByRole('listitem').filter({ hasText: new RegExp(`^${status}:`) })).toHaveText(`${status}: ${n}`);
  }

  // The table view: one row per hour of today, adding up to the same numbers.
  await page.getByRole('button', { name: 'Show table' }).click();
  const table = page.getByRole('table', { name: 'Orders and revenue per bucket' });
  await expect(table).toBeVisible();
  const [placed, cancelled, rejectedPerHour, deliveredPerHour] = await Promise.all(
    [2, 3, 4, 5].map(async (n) => (await column(table, n)).map(Number)),
  );
  const revenues = (await column(table, 6)).map(cents);
  expect({
    placed: sum(placed), cancelled: sum(cancelled), rejected: sum(rejectedPerHour), delivered: sum(deliveredPerHour),
    revenue: sum(revenues),
  }).toEqual({
    placed: expected.placed, cancelled: expected.cancelled, rejected: expected.rejected, delivered: expected.delivered,
    revenue: expected.revenue,
  });
  const hours = placed.length;
  expect(hours).toBeGreaterThanOrEqual(new Date().getUTCHours());
  expect(hours).toBeLessThanOrEqual(new Date().getUTCHours() + 1);

  // The chart draws the same buckets: a bar for each hour with orders placed and each with cancellations (Recharts
  // draws no bar of height 0), and a revenue dot for every hour.
  await page.getByRole('button', { name: 'Show chart' }).click();
  const chart = page.getByTestId('analytics-chart');
  await expect(chart.locator('svg.recharts-surface').first()).toBeVisible();
  await expect(chart.locator('.recharts-bar-rectangle')).toHaveCount(
    placed.filter((n) => n > 0).length + cancelled.filter((n) => n > 0).length,
  );
  await expect(chart.locator('.recharts-line-curve')).toBeAttached();
  await expect(chart.locator('.recharts-line-dots .recharts-dot')).toHaveCount(hours);
  for (const name of ['Orders placed', 'Cancelled', 'Revenue']) await expect(chart.getByText(name, { exact: true })).toBeVisible();
  // Hovering the last hour gives its numbers.
  const dot = await chart.locator('.recharts-line-dots .recharts-dot').last().boundingBox();
  expect(dot).not.toBeNull();
  await page.mouse.move(dot!.x + dot!.width / 2, dot!.y + dot!.height / 2);
  const tip = chart.locator('.recharts-tooltip-item');
  await expect(tip.filter({ hasText: 'Orders placed' }).locator('.recharts-tooltip-item-value')).toHaveText(String(placed[hours - 1]));
  await expect(tip.filter({ hasText: 'Revenue' }).locator('.recharts-tooltip-item-value')).toHaveText(usd(revenues[hours - 1]));
  await shot(page, 'admin-analytics-known-orders');
});
