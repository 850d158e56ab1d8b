import { test, expect, signUp, signInAdmin, seedProduct, orderProduct, addToCart, catalogCard, shot, unique } from './fixtures';

test('a shopper registers, orders, and sees PLACED appear live', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Teapot'));

  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  await page.getByRole('link', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await shot(page, 'sign-in');
  await page.getByRole('link', { name: 'Sign up' }).click();
  await expect(page.getByRole('button', { name: 'Sign up' })).toBeVisible();
  await shot(page, 'sign-up');
  await signUp(page);
  await page.getByRole('searchbox').fill(product.name);
  await page.getByRole('button', { name: 'Search' }).click();
  const card = page.getByRole('listitem').filter({ hasText: product.name });
  await expect(card).toHaveCount(1);
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(card.getByText('In stock', { exact: true })).toBeVisible();
  await expect(card.getByRole('img', { name: product.name })).toBeVisible();
  await shot(page, 'catalog');
  await expect(page.getByTitle('Live updates on')).toBeVisible();

  const orderId = await orderProduct(page, product.name);
  // PENDING first, then PLACED pushed over server-sent events: no reload.
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page.getByRole('button', { name: 'Cancel order' })).toBeVisible();
  await shot(page, 'order-placed');

  await page.getByRole('link', { name: 'My orders' }).click();
  await expect(page.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();
  await shot(page, 'my-orders');

  // Phone width: nothing spills sideways on the catalog.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await shot(page, 'catalog-phone');
});

test('a shopper cancels a PLACED order: CANCELLED shows live and the stock comes back to the catalog', async ({ page, request, newPage }) => {
  const product = await seedProduct(request, unique('Kettle'), 1);
  await signUp(page);
  let card = await catalogCard(page, product.name);
  await expect(card.getByText('Low stock (1 left)')).toBeVisible();
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toBeEnabled();

  const orderId = await orderProduct(page, product.name);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page.getByRole('cell', { name: 'reserved' })).toBeVisible();
  card = await catalogCard(page, product.name);
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toBeDisabled();
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toHaveText('Out of stock');
  await shot(page, 'catalog-out-of-stock');

  await page.getByRole('link', { name: 'My orders' }).click();
  await page.getByRole('link', { name: orderId.slice(-8) }).click();
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await page.getByRole('button', { name: 'Cancel order' }).click();
  // Pushed over server-sent events; then the line's stock is given back.
  await expect(page.getByTestId('order-status')).toHaveText('CANCELLED');
  await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  await expect(page.getByRole('listitem').filter({ hasText: 'PLACED → CANCELLED' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'released' })).toBeVisible();
  await shot(page, 'order-cancelled');

  card = await catalogCard(page, product.name);
  await expect(card.getByText('Low stock (1 left)')).toBeVisible();
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toBeEnabled();

  // The admin's ledger shows the reservation and its release.
  const admin = await newPage();
  await signInAdmin(admin);
  await admin.goto(`/admin/products/${product.id}`);
  const ledger = admin.getByRole('table', { name: 'Stock ledger' });
  await expect(ledger.getByRole('row').filter({ hasText: 'release' }).filter({ hasText: orderId })).toContainText('+1');
  await expect(ledger.getByRole('row').filter({ hasText: 'reserve' }).filter({ hasText: orderId })).toContainText('-1');
  await expect(admin.getByTestId('product-stock')).toHaveText('1');
});

test('a shopper orders more than the stock: the order is REJECTED with the reason on its line', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Vase'), 2);
  await signUp(page);
  await addToCart(page, product.name);
  await page.getByRole('link', { name: /Cart \(1\)/ }).click();
  await page.getByLabel('Quantity').fill('3');
  await shot(page, 'cart');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/\/orders\/[^/]+$/);

  await expect(page.getByTestId('order-status')).toHaveText('REJECTED');
  const line = page.getByRole('row').filter({ hasText: product.name });
  await expect(line.getByTestId('reject-reason')).toHaveText('not enough stock');
  await expect(line.getByRole('cell', { name: /rejected/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  await shot(page, 'order-rejected');

  // Nothing was taken.
  const card = await catalogCard(page, product.name);
  await expect(card.getByText('Low stock (2 left)')).toBeVisible();
});
