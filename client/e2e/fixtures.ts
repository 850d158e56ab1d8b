// Shared steps for the browser tests: the base URL of the oms that global-setup started, pages that fail the test
// on a console error, sign-up/sign-in, and data seeded through the API (for tests about something else).
import { test as base, expect, type BrowserContext, type Locator, type Page, type APIRequestContext } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { ADMIN, STATE_FILE, STOCK_PARTITIONS, type E2EState } from './env';

export const state = (): E2EState => JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2EState;

/**
 * Console errors (and uncaught exceptions) of every page a test opened: the test fails on any. Each reads
 * "page: text", followed by "(at url)" when it names another URL (a failed request logs its own).
 */
function watch(context: BrowserContext, errors: string[]) {
  context.on('console', (m) => {
    if (m.type() !== 'error') return;
    const page = m.page()?.url() ?? '?';
    const at = m.location().url;
    errors.push(`${page}: ${m.text()}${at && at !== page ? ` (at ${at})` : ''}`);
  });
  context.on('weberror', (e) => errors.push(`uncaught: ${e.error().message}`));
}

interface Fixtures {
  /** A new browser (its own cookies and storage: another person) whose console errors fail the test. */
  newPage: () => Promise<Page>;
  consoleErrors: string[];
  /**
   * Lets this one test log console errors that match `pattern` (say at the call which and why; e.g. Chromium
   * logs every 401 response, which a test of refused credentials expects). Every other console error still fails it.
   */
  allowConsoleErrors: (pattern: RegExp) => void;
  allowedConsoleErrors: RegExp[];
}

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => use(state().baseURL),
  allowedConsoleErrors: async ({}, use) => use([]),
  allowConsoleErrors: async ({ allowedConsoleErrors }, use) => use((p) => void allowedConsoleErrors.push(p)),
  consoleErrors: async ({ allowedConsoleErrors }, use) => {
    const errors: string[] = [];
    await use(errors);
    expect(errors.filter((e) => !allowedConsoleErrors.some((p) => p.test(e))), 'console errors').toEqual([]);
  },
  context: async ({ context, consoleErrors }, use) => {
    watch(context, consoleErrors);
    await use(context);
  },
  newPage: async ({ browser, baseURL, consoleErrors }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async () => {
      const context = await browser.newContext({ baseURL, locale: 'en-US' });
      watch(context, consoleErrors);
      contexts.push(context);
      return context.newPage();
    });
    for (const c of contexts) await c.close();
  },
});
export { expect };

// A 2x2 red PNG.
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export async function signUp(page: Page, name = 'Ada Shopper') {
  const email = `${unique('shopper')}@oms.test`;
  await page.goto('/register');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  // On a phone the account is behind the Menu button: the page leaving the form says it worked.
  await expect(page).not.toHaveURL(/\/register/);
  if ((page.viewportSize()?.width ?? 1280) >= 768) await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  return email;
}

export async function signInAdmin(page: Page) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).not.toHaveURL(/\/login/);
  if ((page.viewportSize()?.width ?? 1280) >= 768) await expect(page.getByRole('link', { name: 'Queues' })).toBeVisible();
}

/** A signed-in caller of the API (for setting up what a test is not about). */
export interface ApiUser {
  id: string;
  headers: { authorization: string };
}

export async function adminApi(request: APIRequestContext): Promise<ApiUser> {
  const login = await request.post('/api/auth/login', { data: ADMIN });
  expect(login.ok(), await login.text()).toBeTruthy();
  const { access_token, user } = (await login.json()) as { access_token: string; user: { id: string } };
  return { id: user.id, headers: { authorization: `Bearer ${access_token}` } };
}

export async function registerApi(request: APIRequestContext, name = 'Api Shopper'): Promise<ApiUser & { email: string }> {
  const email = `${unique('api')}@oms.test`;
  const r = await request.post('/api/auth/register', {
    data: { email, password: 'correct-horse-battery', name },
  });
  expect(r.status(), await r.text()).toBe(201);
  const { access_token, user } = (await r.json()) as { access_token: string; user: { id: string } };
  return { id: user.id, email, headers: { authorization: `Bearer ${access_token}` } };
}

/** Creates a product as the admin through the API (for tests about something else); `price` in cents (USD). */
export async function seedProduct(request: APIRequestContext, name: string, stock = 50, price = 1999) {
  const admin = await adminApi(request);
  const r = await request.post('/api/products', {
    headers: admin.headers,
    multipart: {
      name, description: 'Seeded for a browser test', sku: unique('SKU'), price: String(price), currency: 'USD',
      stock: String(stock), image: { name: 'p.png', mimeType: 'image/png', buffer: PNG },
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()) as {
    id: string; name: string; sku: string; price: { amount: number; currency: string }; low_stock_threshold: number;
  };
}

/** Places an order through the API; returns its id. */
export async function placeOrderApi(request: APIRequestContext, user: ApiUser, productId: string, quantity = 1) {
  const r = await request.post('/api/orders', {
    headers: { ...user.headers, 'idempotency-key': unique('key') },
    data: { items: [{ product_id: productId, quantity }] },
  });
  expect(r.status(), await r.text()).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

/** From the catalog: find the product by name and put it in the cart. */
export async function addToCart(page: Page, name: string) {
  await page.goto('/');
  await page.getByRole('searchbox').fill(name);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: `Add ${name} to cart` }).click();
}

/** The header's cart link, with how many items it holds. */
export const cartLink = (page: Page, count: number) => page.getByRole('link', { name: `Cart (${count})` });

/** From the catalog: find the product by name, add it, place the order; returns the order id. */
export async function orderProduct(page: Page, name: string) {
  await addToCart(page, name);
  await page.getByRole('link', { name: /Cart \(1\)/ }).click();
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/\/orders\/[^/]+$/);
  return page.url().split('/').pop()!;
}

/** The catalog card of a product, found with the search box (a fresh page load: what a shopper sees now). */
export async function catalogCard(page: Page, name: string) {
  await page.goto('/');
  await page.getByRole('searchbox').fill(name);
  await page.getByRole('button', { name: 'Search' }).click();
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, exact: true }) });
}

/** The stock queue that serialises a product's stock changes: FNV-1a 64 of its id (contracts/src/routing.rs). */
export function stockQueueFor(productId: string, partitions = STOCK_PARTITIONS) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(productId, 'utf8')) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `oms.stock.${hash % BigInt(partitions)}`;
}

export const shot = (page: Page, name: string) =>
  page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });

/** Who the SPA says is signed in (localStorage keeps only that: src/api/tokens.ts), or null when signed out. */
export const HINT_KEY = 'oms.user';
export const signedInUser = (page: Page) =>
  page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? 'null') as { id: string; name: string } | null, HINT_KEY);

/** The browser's refresh cookie (HttpOnly: only the test, never the page, can read it). */
export async function refreshCookie(page: Page) {
  return (await page.context().cookies()).find((c) => c.name === 'oms_refresh');
}

/**
 * The API headers of whoever is signed in on `page` (to check through the API what the page did): the page's
 * own refresh cookie, exchanged once from inside the page as the SPA would.
 */
export async function apiOf(page: Page): Promise<ApiUser> {
  const session = await page.evaluate(async () => {
    const r = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return (await r.json()) as { access_token: string; user: { id: string } };
  });
  expect(session.access_token, 'signed in').toBeTruthy();
  return { id: session.user.id, headers: { authorization: `Bearer ${session.access_token}` } };
}

/** Chromium's console line for a request answered 401 whose URL contains `path` (a refused token or password). */
export const unauthorized = (path: string) =>
  new RegExp(`status of 401 \\(Unauthorized\\) \\(at [^)]*${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`);

/** The link to an order in a list, which names it by its number (`#1042`) rather than its id. */
export const orderLink = (scope: Page | Locator, orderId: string) =>
  scope.getByRole('link', { name: /^#\d+$/ }).and(scope.locator(`a[href="/orders/${orderId}"]`));

/** The order's number as its page says it (`Order #1042`): the order page must be open. */
export async function orderNumberOn(page: Page): Promise<number> {
  const heading = page.getByRole('heading', { level: 1, name: /^Order #\d+$/ });
  await expect(heading).toBeVisible();
  return Number((await heading.textContent())!.replace(/^Order #/, ''));
}

/**
 * Adds a webhook endpoint as the admin through the API, subscribed to `order.placed`. By default its URL is a path of
 * this server that answers 404: no receiver, so every delivery to it fails and shows in its log. Delete it when done
 * ({@link deleteWebhookApi}): while it exists, every order placed by any test is delivered to it.
 */
export async function seedWebhookApi(request: APIRequestContext, description: string, url = `${state().baseURL}/api/${unique('no-receiver')}`) {
  const admin = await adminApi(request);
  const r = await request.post('/api/webhooks', { headers: admin.headers, data: { url, events: ['order.placed'], description } });
  expect(r.status(), await r.text()).toBe(201);
  return { id: ((await r.json()) as { id: string }).id, url };
}

export async function deleteWebhookApi(request: APIRequestContext, id: string) {
  const admin = await adminApi(request);
  const r = await request.delete(`/api/webhooks/${id}`, { headers: admin.headers });
  expect(r.status(), await r.text()).toBe(204);
}
