// Sessions as a shopper lives them: signing out and in again, a wrong password, and an access token that
// expires while the SPA is open (refreshed silently), then a refresh token that no longer works.
import type { Page } from '@playwright/test';
import { test, expect, signUp, seedProduct, orderProduct, storedSession, unauthorized, unique, shot, SESSION_KEY } from './fixtures';

const PASSWORD = 'correct-horse-battery'; // what signUp uses

/** A well-formed JWT the server refuses: expired a minute ago, and not signed with its key. */
function expiredJwt(sub: string) {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return [part({ alg: 'HS256', typ: 'JWT' }), part({ sub, role: 'user', iat: now - 960, exp: now - 60 }),
    Buffer.from('not-the-server-signature').toString('base64url')].join('.');
}

/** Replaces tokens in the SPA's stored session (as time or a revoked session would). */
async function overwriteTokens(page: Page, tokens: { access?: string; refresh?: string }) {
  await page.evaluate(([key, t]) => {
    const s = JSON.parse(localStorage.getItem(key)!) as Record<string, unknown>;
    localStorage.setItem(key, JSON.stringify({ ...s, ...t }));
  }, [SESSION_KEY, tokens] as const);
}

test('a shopper signs out and in again (the second time by keyboard only): the orders are still there; a wrong password is refused by the form', async ({ page, request, allowConsoleErrors }) => {
  // The one wrong password below is answered 401, which Chromium logs.
  allowConsoleErrors(unauthorized('/api/auth/login'));
  const product = await seedProduct(request, unique('Mug'));
  const email = await signUp(page, 'Grace Shopper');
  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  const before = await storedSession(page);

  const loggedOut = page.waitForResponse((r) => r.url().endsWith('/api/auth/logout'));
  await page.getByRole('button', { name: 'Sign out' }).click();
  // The order page is for signed-in users: it asks to sign in, and the session is gone from the browser…
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'My orders' })).toHaveCount(0);
  expect(await storedSession(page)).toBeNull();
  // …and from the server: the refresh token no longer works.
  expect((await loggedOut).status()).toBe(204);
  const reuse = await request.post('/api/auth/refresh', { data: { refresh_token: before!.refresh } });
  expect(reuse.status()).toBe(401);

  await page.goto('/orders');
  await expect(page).toHaveURL(/\/login\?next=%2Forders$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Sign in' }) });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill('not-the-password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  // The error envelope's message, in the form; still signed out.
  await expect(form.getByRole('alert')).toHaveText('the e-mail address or password is wrong');
  await expect(page).toHaveURL(/\/login\?next=%2Forders$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await shot(page, 'sign-in-wrong-password');

  // Keyboard only: the e-mail field, Tab to the password field, Enter submits the form.
  await form.getByLabel('Email').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await expect(form.getByLabel('Password')).toBeFocused();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  // Back where the sign-in was asked for, with the order placed before signing out.
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('heading', { name: 'My orders' })).toBeVisible();
  await expect(page.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();
  await expect(page.getByText('Grace Shopper')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('an expired access token is refreshed silently; when the refresh token fails too, the app asks to sign in', async ({ page, request, allowConsoleErrors }) => {
  // Expected, in this test only: the API refuses the expired access token (then accepts the refreshed
  // one), and later refuses the broken refresh token. Chromium logs each 401.
  allowConsoleErrors(unauthorized('/api/orders'));
  allowConsoleErrors(unauthorized('/api/auth/refresh'));
  const product = await seedProduct(request, unique('Jug'));
  const email = await signUp(page);
  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');

  const before = (await storedSession(page))!;
  await overwriteTokens(page, { access: expiredJwt(before.user.id) });
  const refused: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 401) refused.push(new URL(r.url()).pathname);
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
  await page.getByRole('link', { name: 'My orders' }).click();
  // The list loads (its first answer was a 401; the client refreshed and asked again): no sign-in page.
  await expect(page.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();
  expect((await refreshed).status()).toBe(200);
  expect(refused.filter((p) => p.startsWith('/api/orders')), 'the expired token was sent, and refused').not.toEqual([]);
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  // A new pair was stored: a fresh access token and the rotated refresh token.
  const after = (await storedSession(page))!;
  expect(after.refresh).not.toBe(before.refresh);
  expect(after.access).not.toBe(before.access);
  expect(after.user.id).toBe(before.user.id);
  // A reload keeps working with the new pair.
  await page.reload();
  await expect(page.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();

  // Now the refresh token stops working too (revoked, or expired after 30 days).
  await overwriteTokens(page, { access: expiredJwt(before.user.id), refresh: 'revoked-refresh-token' });
  await page.goto('/orders');
  await expect(page).toHaveURL(/\/login\?next=%2Forders$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(await storedSession(page)).toBeNull();
  await shot(page, 'session-expired-sign-in');

  // Signing in again brings the shopper back to their orders.
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();
});
