// Shared steps for the browser tests: the base URL of the oms that global-setup started, sign-up/sign-in,
// and a product seeded through the API.
import { test as base, expect, type Page, type APIRequestContext } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { ADMIN, STATE_FILE, type E2EState } from './env';

export const state = (): E2EState => JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2EState;

export const test = base.extend({
  baseURL: async ({}, use) => use(state().baseURL),
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
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  return email;
}

export async function signInAdmin(page: Page) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('link', { name: 'Queues' })).toBeVisible();
}

/** Creates a product as the admin through the API (for tests about something else). */
export async function seedProduct(request: APIRequestContext, name: string, stock = 50) {
  const login = await request.post('/api/auth/login', { data: ADMIN });
  expect(login.ok()).toBeTruthy();
  const { access_token } = (await login.json()) as { access_token: string };
  const r = await request.post('/api/products', {
    headers: { authorization: `Bearer ${access_token}` },
    multipart: {
      name, description: 'Seeded for a browser test', sku: unique('SKU'), price: '1999', currency: 'USD',
      stock: String(stock), image: { name: 'p.png', mimeType: 'image/png', buffer: PNG },
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()) as { id: string; name: string };
}

/** From the catalog: find the product by name, add it, place the order; returns the order id. */
export async function orderProduct(page: Page, name: string) {
  await page.goto('/');
  await page.getByRole('searchbox').fill(name);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: `Add ${name} to cart` }).click();
  await page.getByRole('link', { name: /Cart \(1\)/ }).click();
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/\/orders\/[^/]+$/);
  return page.url().split('/').pop()!;
}

export const shot = (page: Page, name: string) =>
  page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
