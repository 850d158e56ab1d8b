// Names, not ids (issue 19): a new admin runs the shop from a phone without a UUID on screen. Every page, signed out,
// as a shopper, and as an admin and operator, at 1280x800 and 390x844 (with the phone's menu open too): no text people
// can see (`document.body.innerText`, which leaves out what is hidden, folded away or only in a tooltip) is a UUID.
// Orders are `#number`, customers and products names, dead letters what they concern; ids are only references to copy.
import { randomUUID } from 'node:crypto';
import type { Page } from '@playwright/test';
import { mgmt } from './env';
import {
  test, expect, signInAdmin, signUp, seedProduct, registerApi, placeOrderApi, addToCart, unique, orderLink, state,
  seedWebhookApi, deleteWebhookApi,
} from './fixtures';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const SIZES = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

/** The orders queue the test's dead letter died in: no other test dead-letters there, and it is emptied at the end. */
const LETTER_QUEUE = 'oms.orders.0';

/**
 * A dead letter that names an order and a product, as workers/src/consumer.rs dead-letters one: the original message on
 * `oms.dlx` with the queue it died in as routing key, and the reason in headers.
 */
async function deadLetter(orderId: string, product: { id: string; name: string }) {
  const messageId = randomUUID();
  const at = new Date().toISOString();
  const envelope = {
    message_id: messageId, version: 1, correlation_id: orderId, causation_id: 'e2e-no-ids', occurred_at: at,
    type: 'StockReserved',
    payload: { order_id: orderId, product_id: product.id, unit_price: { amount: 1999, currency: 'USD' }, product_name: product.name, balance_after: 2 },
  };
  const published = (await mgmt('POST', `/api/exchanges/${encodeURIComponent(state().vhost)}/oms.dlx/publish`, {
    routing_key: LETTER_QUEUE,
    payload: JSON.stringify(envelope),
    payload_encoding: 'string',
    properties: {
      content_type: 'application/json', delivery_mode: 2, message_id: messageId, correlation_id: orderId, type: 'StockReserved',
      headers: {
        'x-oms-reason': 'e2e: the order worker gave up', 'x-oms-attempts': 5, 'x-oms-first-failure-at': at,
        'x-oms-dead-lettered-at': at, 'x-oms-original-queue': LETTER_QUEUE,
      },
    },
  })) as { routed: boolean };
  expect(published.routed).toBe(true);
  return messageId;
}

/** The first line of text people can see on the page that holds a UUID, if any (with the menu open, on phones). */
async function idsOnScreen(page: Page, where: string) {
  const found: string[] = [];
  const look = async (state: string) => {
    const text = await page.evaluate(() => document.body.innerText);
    const line = text.split('\n').find((l) => UUID.test(l));
    if (line) found.push(`${where}${state}: "${line.trim()}"`);
  };
  await look('');
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) {
    await menu.click();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await look(' (menu open)');
    await page.keyboard.press('Escape');
    await expect(menu).toHaveAttribute('aria-expanded', 'false');
  }
  return found;
}

for (const size of SIZES) {
  test(`no page shows an id at ${size.width}x${size.height}, for any role`, async ({ browser, request, baseURL, consoleErrors }) => {
    test.setTimeout(180_000);
    const product = await seedProduct(request, unique('Named'), 5);
    // An endpoint before the order: the order's event is delivered to it (and fails: nothing receives it), so its page
    // has a delivery log.
    const endpoint = await seedWebhookApi(request, 'Endpoint without ids');
    const buyer = await registerApi(request, 'Ida Buyer');
    const orderId = await placeOrderApi(request, buyer, product.id);
    const messageId = await deadLetter(orderId, product);
    const found: string[] = [];
    const open = async () => {
      const context = await browser.newContext({ baseURL, viewport: { width: size.width, height: size.height }, locale: 'en-US' });
      // Console errors fail the test, as in every other browser test.
      context.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.page()?.url() ?? '?'}: ${m.text()}`); });
      context.on('weberror', (e) => consoleErrors.push(`uncaught: ${e.error().message}`));
      return context.newPage();
    };
    /** Opens `path` (or stays), waits until `ready` says the page has what it shows, and reads it. */
    const check = async (page: Page, path: string, ready?: () => Promise<void>) => {
      if (path) await page.goto(path);
      await expect(page.locator('main h1').first()).toBeVisible();
      await expect(page.getByRole('status').filter({ hasText: /Loading|Checking|Signing you in/ })).toHaveCount(0);
      await ready?.();
      found.push(...(await idsOnScreen(page, `${path || new URL(page.url()).pathname} (${size.name})`)));
    };

    try {
      // Signed out.
      const visitor = await open();
      await check(visitor, '/', () => expect(visitor.getByRole('list').first()).toBeVisible());
      await check(visitor, `/products/${product.id}`, () => expect(visitor.getByRole('heading', { level: 1 })).toHaveText(product.name));
      for (const path of ['/login', '/register', '/cart', '/nowhere']) await check(visitor, path);
      await visitor.context().close();

      // A shopper: the cart, an order placed and its page, their orders and notifications.
      const shopper = await open();
      await signUp(shopper, 'Ida Shopper');
      await addToCart(shopper, product.name);
      await check(shopper, `/products/${product.id}`, () => expect(shopper.getByRole('heading', { level: 1 })).toHaveText(product.name));
      await check(shopper, '/cart', () => expect(shopper.getByTestId('cart-line')).toContainText(product.name));
      await shopper.getByRole('button', { name: 'Place order' }).click();
      await expect(shopper.getByTestId('order-status')).toHaveText('PLACED');
      const mine = shopper.url().split('/').pop()!;
      await check(shopper, '', () => expect(shopper.getByRole('heading', { level: 1 })).toHaveText(/^Order #\d+$/));
      await check(shopper, '/orders', () => expect(orderLink(shopper, mine)).toBeVisible());
      await check(shopper, '/notifications', () =>
        expect(shopper.getByRole('list', { name: 'Notifications' }).getByRole('listitem').first()).toBeVisible({ timeout: 20_000 }));
      await shopper.context().close();

      // An admin and operator.
      const admin = await open();
      await signInAdmin(admin);
      await check(admin, '/admin');
      await check(admin, '/admin/products', () => expect(admin.getByText(product.name).filter({ visible: true }).first()).toBeVisible());
      await check(admin, `/admin/products/${product.id}`, () =>
        expect(admin.getByRole('table', { name: 'Stock ledger' }).or(admin.getByRole('list', { name: 'Stock ledger' }))).toBeVisible());
      await check(admin, '/admin/orders', () => expect(orderLink(admin, orderId)).toBeVisible());
      // One customer's orders, from an old link by account: the account is not named by its id either.
      await check(admin, `/admin/orders?user_id=${buyer.id}`, () => expect(orderLink(admin, orderId)).toBeVisible());
      await check(admin, `/orders/${orderId}`, () => expect(admin.getByTestId('order-customer')).toContainText('Ida Buyer'));
      await check(admin, '/admin/analytics', () =>
        expect(admin.getByTestId('analytics-chart').locator('svg.recharts-surface').first()).toBeVisible());
      await check(admin, '/admin/webhooks', () => expect(admin.getByText('Endpoint without ids').filter({ visible: true }).first()).toBeVisible());
      await check(admin, `/admin/webhooks/${endpoint.id}`, () =>
        expect(admin.getByRole('list', { name: 'Deliveries' }).getByRole('listitem').first()).toBeVisible({ timeout: 30_000 }));
      await check(admin, '/notifications');
      await check(admin, '/ops/queues', () =>
        expect(admin.getByRole('table', { name: 'Queues' }).or(admin.getByRole('list', { name: 'Queues' }))).toBeVisible());
      // The dead letter by what it concerns: the order's number and the product's name, looked up from its ids.
      await check(admin, '/ops/dead-letters', async () => {
        const letter = admin.getByTestId('dead-letter').filter({ has: admin.locator(`[data-reference="${messageId}"]`) });
        await expect(letter.getByRole('link', { name: /^order #\d+$/ })).toHaveAttribute('href', `/orders/${orderId}`);
        await expect(letter.getByRole('link', { name: product.name, exact: true })).toBeVisible();
        await expect(letter).toContainText('attempts 5');
      });
      await check(admin, '/ops/verify', () => expect(admin.getByText(/products and \d+ orders checked/)).toBeVisible());
      await admin.context().close();

      expect(found, 'ids on screen').toEqual([]);
    } finally {
      await deleteWebhookApi(request, endpoint.id);
      // The dead letter goes (its queue's dead letters are this test's alone).
      await mgmt('DELETE', `/api/queues/${encodeURIComponent(state().vhost)}/${LETTER_QUEUE}.dlq/contents`);
    }
  });
}
