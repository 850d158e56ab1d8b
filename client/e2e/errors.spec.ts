// Errors for people (issue item 2): every invalid field at once, each beside its field in a sentence; error codes
// in words instead of the server's text (broker down, network gone, undecodable image, wrong types).
import { test, expect, signInAdmin, signUp, seedProduct, addToCart, cartLink, unique, PNG, shot } from './fixtures';

test('an empty sign-up form says what is wrong with every field at once', async ({ page, allowConsoleErrors }) => {
  allowConsoleErrors(/status of 422/);
  await page.goto('/register');
  await page.getByRole('button', { name: 'Sign up' }).click();
  // Before the fix only the e-mail was reported.
  await expect(page.getByLabel('Name')).toHaveAccessibleDescription('Name is required.');
  await expect(page.getByLabel('Email')).toHaveAccessibleDescription('E-mail is required.');
  await expect(page.getByLabel('Password')).toHaveAccessibleDescription('Use at least 8 characters.');
  await expect(page.getByLabel('Name')).toBeFocused();
  await page.getByLabel('Name').fill('Ada');
  await page.getByLabel('Email').fill('ada-at-example.com');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByLabel('Email')).toHaveAccessibleDescription('Enter an e-mail address like ada@example.com.');
  await expect(page.getByLabel('Name')).not.toHaveAttribute('aria-invalid', 'true');
  await shot(page, 'sign-up-errors');
});

test('the product forms put each field\'s problem beside it in words, never the server\'s raw text', async ({ page, request, allowConsoleErrors }) => {
  allowConsoleErrors(/status of 4(09|22)/);
  // Chromium's own complaint when the preview of the broken PNG (a blob: URL) fails to decode.
  allowConsoleErrors(/Connecting to 'blob:.*violates the following Content Security Policy directive/);
  const taken = await seedProduct(request, unique('Taken'), 1);
  await signInAdmin(page);
  await page.goto('/admin/products');
  const form = page.getByRole('form', { name: 'New product' });
  await form.getByLabel('Name').fill(unique('Clock'));
  await form.getByLabel('SKU').fill('A B');
  await form.getByLabel('Price (USD)').fill('10');
  // A PNG cut in half does not decode: before the fix the decoder's chunk dump was shown.
  await form.getByLabel(/Image/).setInputFiles({ name: 'half.png', mimeType: 'image/png', buffer: PNG.subarray(0, 40) });
  await form.getByRole('button', { name: 'Create product' }).click();
  await expect(form.getByLabel('SKU')).toHaveAccessibleDescription('Use only letters, digits, “-”, “_” and “.” (no spaces).');
  await expect(form.getByText('This image cannot be read: the file is damaged or incomplete. Choose another.')).toBeVisible();
  await expect(form.getByText(/chunk|IHDR|Format error|decoded/i)).toHaveCount(0);
  // A SKU another product has: the conflict in words, beside the SKU.
  await form.getByLabel('SKU').fill(taken.sku);
  await form.getByLabel(/Image/).setInputFiles({ name: 'ok.png', mimeType: 'image/png', buffer: PNG });
  await form.getByRole('button', { name: 'Create product' }).click();
  await expect(form.getByLabel('SKU')).toHaveAccessibleDescription('Another product already has this SKU.');
  await shot(page, 'admin-product-errors');

  // A stock change of 2.5 (before the fix: "delta: invalid type: floating point 2.5, expected i64") and no reason.
  await page.goto(`/admin/products/${taken.id}`);
  const stock = page.getByRole('form', { name: 'Adjust stock' });
  await stock.getByLabel(/^Change/).fill('2.5');
  await stock.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(stock.getByLabel(/^Change/)).toHaveAccessibleDescription('Enter a whole number of units, like 5 or -2.');
  await expect(stock.getByLabel('Reason')).toHaveAccessibleDescription('Say why, e.g. “Restock from the supplier”.');
  await expect(stock.getByLabel(/^Change/)).toBeFocused();
  await expect(page.getByText(/invalid type|expected i64/)).toHaveCount(0);
});

test('a broker outage and a lost connection are said in words, and the cart stays', async ({ page, request, allowConsoleErrors }) => {
  allowConsoleErrors(/status of 503|ERR_FAILED|Failed to load resource/);
  const product = await seedProduct(request, unique('Bell'), 5);
  await signUp(page);
  await addToCart(page, product.name);
  await cartLink(page, 1).click();
  // What the API answers while RabbitMQ is down (before the fix: "the message broker is unavailable").
  await page.route('**/api/orders', (route) => route.request().method() === 'POST'
    ? route.fulfill({
      status: 503, contentType: 'application/json', headers: { 'retry-after': '1' },
      body: JSON.stringify({ error: { code: 'service_unavailable', message: 'the message broker is unavailable; the request had no effect, retry later' } }),
    })
    : route.fallback());
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('Part of the shop is down for a moment. Nothing was changed: try again shortly.');
  await expect(page.getByText(/message broker/)).toHaveCount(0);
  await page.unroute('**/api/orders');
  await page.route('**/api/orders', (route) => route.request().method() === 'POST' ? route.abort('failed') : route.fallback());
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('Could not reach the shop. Check your connection and try again.');
  await expect(cartLink(page, 1)).toBeVisible();
  await page.unroute('**/api/orders');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
});
