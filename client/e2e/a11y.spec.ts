// Every page, at 1280x800 and 390x844 (and in dark mode): an axe-core scan (WCAG 2 A and AA) with zero
// violations, and at phone width nothing wider than the screen.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import {
  test, expect, signInAdmin, signUp, seedProduct, registerApi, placeOrderApi, addToCart, unique, seedWebhookApi, deleteWebhookApi,
} from './fixtures';

const SIZES = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

async function scan(page: Page, where: string) {
  // Wait for the page to settle: its heading (focus target) and no loading spinner.
  await expect(page.locator('main h1').first()).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /Loading|Checking|Signing you in/ })).toHaveCount(0);
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(found, `axe on ${where}`).toEqual([]);
}

/**
 * A webhook receiver that is down: it answers every delivery 503 with a long HTML error page, as a proxy in front of
 * a stopped service does (the delivery log shows the start of it, in a box that scrolls).
 */
async function brokenReceiver() {
  const page = `<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>\n${
    Array.from({ length: 80 }, (_, i) => `<p>upstream connect error or disconnect/reset before headers (${i})</p>`).join('\n')}\n</body></html>`;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(503, { 'content-type': 'text/html' }).end(page));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/oms`, close: () => new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); }) };
}

/** What axe leaves for a person to review ("needs review": its incomplete results) within `selector`. */
async function toReview(page: Page, selector: string) {
  const result = await new AxeBuilder({ page }).include(selector).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.incomplete.map((r) => `${r.id}: ${r.nodes.map((n) => `${n.target.join(' ')} (${[...n.any, ...n.all, ...n.none].map((a) => a.message).join('; ')})`).join(', ')}`);
}

async function noSideways(page: Page, where: string) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll, `${where} is wider than the screen`).toBeLessThanOrEqual(inner);
}

for (const size of SIZES) {
  for (const scheme of size.name === 'desktop' ? (['light', 'dark'] as const) : (['light'] as const)) {
    test(`every page passes axe at ${size.width}x${size.height} (${scheme})${size.name === 'phone' ? ' and fits the screen' : ''}`, async ({ browser, request, baseURL }) => {
      test.setTimeout(120_000);
      const product = await seedProduct(request, unique('Scan'), 3);
      // An endpoint before the order: the order's event is delivered to it (and fails: its receiver is down), so its
      // page has a delivery log with attempts.
      const receiver = await brokenReceiver();
      const endpoint = await seedWebhookApi(request, 'Scanned endpoint', receiver.url);
      const buyer = await registerApi(request, 'Scan Buyer');
      const orderId = await placeOrderApi(request, buyer, product.id);
      try {
        const open = async () => {
          const context = await browser.newContext({ baseURL, viewport: { width: size.width, height: size.height }, colorScheme: scheme, locale: 'en-US' });
          return context.newPage();
        };
        const check = async (page: Page, path: string) => {
          if (path) await page.goto(path);
          await scan(page, `${path || page.url()} (${size.name}, ${scheme})`);
          if (size.name === 'phone') await noSideways(page, path || page.url());
        };

        // Signed out.
        const visitor = await open();
        for (const path of ['/', `/products/${product.id}`, '/login', '/register', '/cart', '/nowhere']) await check(visitor, path);
        await visitor.context().close();

        // A shopper with a cart and an order.
        const shopper = await open();
        await signUp(shopper);
        await addToCart(shopper, product.name);
        await check(shopper, '/cart');
        // A cart line (its quantity stepper and line total) leaves nothing to review either: the "−" and "+" buttons
        // named by an aria-label did (axe could not tell whether the sign was part of the name), and so did the line
        // total's aria-label on a span.
        expect(await toReview(shopper, '[data-testid="cart-line"]'), `axe's review of the cart's stepper (${size.name}, ${scheme})`).toEqual([]);
        await shopper.getByRole('button', { name: 'Place order' }).click();
        await expect(shopper.getByTestId('order-status')).toHaveText('PLACED');
        await check(shopper, '');
        await check(shopper, '/orders');
        await check(shopper, '/notifications');
        await shopper.context().close();

        // An admin and operator.
        const admin = await open();
        await signInAdmin(admin);
        for (const path of ['/admin', '/admin/products', `/admin/products/${product.id}`, '/admin/orders', `/orders/${orderId}`, '/ops/queues', '/ops/dead-letters', '/ops/verify', '/admin/webhooks']) {
          await check(admin, path);
        }

        // Analytics: the chart, the same figures as a table, and the custom range's form.
        await admin.goto('/admin/analytics');
        await expect(admin.getByTestId('analytics-chart').locator('svg.recharts-surface').first()).toBeVisible();
        await check(admin, '');
        await admin.getByRole('button', { name: 'Show table' }).click();
        // A table on wide screens, cards on phones.
        const buckets = { name: 'Orders and revenue per bucket' };
        await expect(admin.getByRole('table', buckets).or(admin.getByRole('list', buckets))).toBeVisible();
        await check(admin, '');
        await admin.getByRole('button', { name: 'Custom' }).click();
        await expect(admin.getByRole('form', { name: 'Custom range' })).toBeVisible();
        await check(admin, '');

        // An endpoint's page: its delivery log, with a failed attempt and the receiver's answer open.
        await admin.goto(`/admin/webhooks/${endpoint.id}`);
        const delivery = admin.getByRole('list', { name: 'Deliveries' }).getByRole('listitem').first();
        await expect(delivery).toContainText('last 503', { timeout: 30_000 });
        await check(admin, '');
        await delivery.getByRole('button', { name: 'Attempts' }).click();
        const answer = delivery.locator('pre').first();
        await expect(answer).toContainText('503 Service Unavailable');
        expect(await answer.evaluate((e) => e.scrollHeight > e.clientHeight), 'the answer scrolls in its box').toBe(true);
        await check(admin, '');
        await admin.context().close();
      } finally {
        await deleteWebhookApi(request, endpoint.id);
        await receiver.close();
      }
    });
  }
}
