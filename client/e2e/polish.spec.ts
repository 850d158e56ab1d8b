// Admin and shopper polish (issue item 5): confirmations before what cannot be undone, toasts, a title per page
// and focus moved to the new page, a product page, list search and sort with thumbnails, an admin landing page,
// dark mode following the OS.
import { test, expect, signInAdmin, signUp, seedProduct, registerApi, placeOrderApi, orderProduct, unique, shot } from './fixtures';

test('a shopper finds a product by search and sort, reads its page, adds a quantity; titles and focus follow each page', async ({ page, request }) => {
  const term = unique('Kit');
  await seedProduct(request, `${term} B`, 7);
  const dear = await seedProduct(request, `${term} A`, 3);
  await page.goto('/');
  await expect(page).toHaveTitle('Catalog · OMS');
  await page.getByRole('searchbox').fill(term);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByLabel('Sort').selectOption('name');
  const names = page.getByRole('list', { name: 'Products' }).getByRole('heading');
  await expect(names).toHaveText([`${term} A`, `${term} B`]);
  await page.getByLabel('Sort').selectOption('stock_asc');
  await expect(names).toHaveText([`${term} A`, `${term} B`]);
  // The search is in the address: a reload keeps it.
  await page.reload();
  await expect(page.getByLabel('Sort')).toHaveValue('stock_asc');
  await expect(names).toHaveCount(2);
  // Every card's picture is the same square crop.
  const boxes = await page.getByRole('list', { name: 'Products' }).getByRole('img').evaluateAll((imgs) =>
    imgs.map((i) => { const r = i.getBoundingClientRect(); return Math.round(r.width) === Math.round(r.height); }));
  expect(boxes).toEqual([true, true]);

  await page.getByRole('link', { name: dear.name }).click();
  await expect(page).toHaveTitle(`${dear.name} · OMS`);
  await expect(page.getByRole('heading', { name: dear.name })).toBeFocused();
  await expect(page.getByText('Low stock (3 left)')).toBeVisible();
  await page.getByRole('button', { name: 'One more: Quantity' }).click();
  await page.getByRole('button', { name: 'One more: Quantity' }).click();
  await expect(page.getByRole('button', { name: 'One more: Quantity' })).toBeDisabled();
  await page.getByRole('button', { name: `Add ${dear.name} to cart` }).click();
  await expect(page.getByTestId('toast').filter({ hasText: `${dear.name} added to the cart (3 in all).` })).toBeVisible();
  await expect(page.getByRole('button', { name: `All 3 of ${dear.name} in your cart` })).toBeDisabled();
  await shot(page, 'product-page');
  await page.getByRole('link', { name: 'Cart (3)' }).click();
  await expect(page).toHaveTitle('Cart · OMS');
  await expect(page.getByRole('heading', { name: 'Cart' })).toBeFocused();
});

test('destructive actions ask first; results come as toasts', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Tray'), 5);
  await signUp(page);
  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page).toHaveTitle(/^Order #\d+ · OMS$/);
  // Before the fix one click cancelled.
  await page.getByRole('button', { name: 'Cancel order' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this order?' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Keep the order' })).toBeFocused();
  await shot(page, 'confirm-cancel');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await dialog.getByRole('button', { name: 'Cancel order' }).click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Cancellation requested.' })).toBeVisible();
  await expect(page.getByTestId('order-status')).toHaveText('CANCELLED');
  expect(request).toBeTruthy();
});

test('the admin lands on a dashboard of what waits: orders to confirm and ship, low stock, health', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Dash'), 2);
  const buyer = await registerApi(request, 'Dash Buyer');
  await placeOrderApi(request, buyer, product.id);
  await signInAdmin(page);
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page).toHaveTitle('Dashboard · OMS');
  await expect(page.getByTestId('to-confirm')).toHaveText(/^[1-9]\d*$/);
  await expect(page.getByRole('heading', { name: /All healthy|need/ })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Running low' })).toBeVisible();
  await shot(page, 'admin-dashboard');
  await page.getByRole('link', { name: 'Confirm orders' }).click();
  await expect(page.getByLabel('Status')).toHaveValue('PLACED');
});

test('dark mode follows the OS setting', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  const [body, header] = await page.evaluate(() => [
    getComputedStyle(document.body).backgroundColor, getComputedStyle(document.querySelector('header')!).backgroundColor,
  ]);
  // Dark surfaces (the light theme's are near white).
  // oklch(L …) with L from 0 to 1, or rgb(r, g, b): either way well under half way to white.
  const dark = (c: string) => {
    const l = /oklch\(([\d.]+)(%?)/.exec(c);
    if (l) return Number(l[1]) / (l[2] ? 100 : 1) < 0.4;
    const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c);
    return !!rgb && Number(rgb[1]) + Number(rgb[2]) + Number(rgb[3]) < 3 * 100;
  };
  expect(dark(body), body).toBe(true);
  expect(dark(header), header).toBe(true);
  await shot(page, 'catalog-dark');
  await context.close();
});
