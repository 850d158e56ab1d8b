// Sessions as a shopper lives them: signing out and in again, a wrong password, an access token that expires
// while the SPA is open (refreshed silently through the HttpOnly cookie), then a refresh cookie that no longer
// works. And what no script on the page can do: read either token, or find one in any URL.
import type { Page, Request } from '@playwright/test';
import {
  test, expect, signUp, seedProduct, orderProduct, signedInUser, refreshCookie, unauthorized, unique, shot, HINT_KEY, orderLink,
} from './fixtures';

const PASSWORD = 'correct-horse-battery'; // what signUp uses

/** A well-formed JWT the server refuses: expired a minute ago, and not signed with its key. */
function expiredJwt(sub: string) {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return [part({ alg: 'HS256', typ: 'JWT' }), part({ sub, role: 'user', iat: now - 960, exp: now - 60 }),
    Buffer.from('not-the-server-signature').toString('base64url')].join('.');
}

/** The page's next API request to `path` goes out with an expired access token (as time would make it). */
async function expireAccessTokenOnce(page: Page, path: string, sub: string) {
  let done = false;
  await page.route(`**${path}`, async (route) => {
    const auth = route.request().headers().authorization;
    if (done || !auth) return route.fallback();
    done = true;
    await route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${expiredJwt(sub)}` } });
  });
}

test('a shopper signs out and in again (the second time by keyboard only): the orders are still there; a wrong password is refused by the form', async ({ page, request, allowConsoleErrors }) => {
  // The one wrong password below is answered 401, which Chromium logs.
  allowConsoleErrors(unauthorized('/api/auth/login'));
  const product = await seedProduct(request, unique('Mug'));
  const email = await signUp(page, 'Grace Shopper');
  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  const before = (await refreshCookie(page))!.value;

  const loggedOut = page.waitForResponse((r) => r.url().endsWith('/api/auth/logout'));
  await page.getByRole('button', { name: 'Sign out' }).click();
  // The order page is for signed-in users: it asks to sign in, and the session is gone from the browser…
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'My orders' })).toHaveCount(0);
  expect(await signedInUser(page)).toBeNull();
  // …and from the server: the refresh token no longer works, and the browser was told to forget it.
  expect((await loggedOut).status()).toBe(204);
  expect(await refreshCookie(page)).toBeUndefined();
  const reuse = await request.post('/api/auth/refresh', { data: { refresh_token: before } });
  expect(reuse.status()).toBe(401);

  await page.goto('/orders');
  await expect(page).toHaveURL(/\/login\?next=%2Forders$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page).toHaveTitle('Sign in · OMS');

  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill('not-the-password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  // The error code in a sentence, in the form; still signed out.
  await expect(form.getByRole('alert')).toHaveText('The e-mail address or password is wrong.');
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
  await expect(orderLink(page, orderId)).toBeVisible();
  await expect(page.getByText('Grace Shopper')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('an expired access token is refreshed silently through the cookie; a reload resumes the session; when the cookie fails too, the app asks to sign in', async ({ page, request, allowConsoleErrors }) => {
  // Expected, in this test only: the API refuses the expired access token (then accepts the refreshed
  // one), and later refuses the broken refresh cookie. Chromium logs each 401.
  allowConsoleErrors(unauthorized('/api/orders'));
  allowConsoleErrors(unauthorized('/api/auth/refresh'));
  const product = await seedProduct(request, unique('Jug'));
  const email = await signUp(page);
  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  const user = (await signedInUser(page))!;
  const first = (await refreshCookie(page))!.value;

  await expireAccessTokenOnce(page, '/api/orders?*', user.id);
  const refused: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 401) refused.push(new URL(r.url()).pathname);
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
  await page.getByRole('link', { name: 'My orders' }).click();
  // The list loads (its first answer was a 401; the client refreshed and asked again): no sign-in page.
  await expect(orderLink(page, orderId)).toBeVisible();
  expect((await refreshed).status()).toBe(200);
  expect(refused.filter((p) => p.startsWith('/api/orders')), 'the expired token was sent, and refused').not.toEqual([]);
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  // The refresh cookie was rotated.
  const second = (await refreshCookie(page))!.value;
  expect(second).not.toBe(first);
  // A reload keeps the session: the page has no token, and gets one from the cookie.
  await page.reload();
  await expect(orderLink(page, orderId)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  // Now the refresh cookie stops working too (revoked, or expired after 30 days).
  const cookie = (await refreshCookie(page))!;
  await page.context().addCookies([{ ...cookie, value: 'revoked-refresh-token' }]);
  // The next visit: the page has no token yet, and the cookie no longer gets one.
  await page.goto('/orders');
  await expect(page).toHaveURL(/\/login\?next=%2Forders$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(await signedInUser(page)).toBeNull();
  await shot(page, 'session-expired-sign-in');

  // Signing in again brings the shopper back to their orders.
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/orders$/);
  await expect(orderLink(page, orderId)).toBeVisible();
});

test('no script on the page can read either token, and no token is ever in a URL', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Cup'));
  const requests: Request[] = [];
  page.on('request', (r) => requests.push(r));
  await signUp(page);
  const orderId = await orderProduct(page, product.name);
  // PLACED arrives over the event stream.
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await page.reload();
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page.getByTitle('Live updates on')).toBeVisible();

  // The refresh token: an HttpOnly, Secure, SameSite=Strict cookie sent only to the refresh path.
  const cookie = (await refreshCookie(page))!;
  expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/api/auth/refresh' });
  // The access tokens the page used: only ever in Authorization headers.
  const access = [...new Set(requests.map((r) => r.headers().authorization).filter(Boolean).map((a) => a!.replace(/^Bearer /, '')))];
  expect(access.length).toBeGreaterThan(0);
  const tokens = [cookie.value, ...access];

  // What a script that got onto the page could read: cookies, storage, the page's own text.
  const readable = await page.evaluate(async () => {
    const idb = 'databases' in indexedDB ? await indexedDB.databases() : [];
    return {
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      html: document.documentElement.outerHTML,
      idb: JSON.stringify(idb),
    };
  });
  for (const [where, text] of Object.entries(readable)) {
    for (const t of tokens) expect(text.includes(t), `a token readable from ${where}`).toBe(false);
  }
  expect(readable.cookie).not.toContain('oms_refresh');
  expect(JSON.parse(readable.local)).toEqual(expect.objectContaining({ [HINT_KEY]: expect.any(String) }));

  // No URL the page asked for carries a token, or the refresh token: the event stream included.
  const events = requests.filter((r) => new URL(r.url()).pathname === '/api/events');
  expect(events.length).toBeGreaterThan(0);
  for (const r of events) {
    expect(new URL(r.url()).search).toBe('');
    expect(r.headers().authorization).toMatch(/^Bearer /);
  }
  for (const r of requests) {
    for (const t of tokens) expect(r.url().includes(t), `${r.url()} carries a token`).toBe(false);
    expect(r.url()).not.toMatch(/access_token|refresh_token/);
  }
  // The refresh cookie went only to the refresh endpoint.
  for (const r of requests) {
    const sent = (await r.allHeaders()).cookie ?? '';
    if (sent.includes('oms_refresh')) expect(new URL(r.url()).pathname).toBe('/api/auth/refresh');
  }
  expect(orderId).toBeTruthy();
});
