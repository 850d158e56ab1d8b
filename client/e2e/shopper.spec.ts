import { test, expect, signUp, seedProduct, orderProduct, shot, unique } from './fixtures';

test('a shopper registers, orders, and sees PLACED appear live', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const product = await seedProduct(request, unique('Teapot'));

  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
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
  expect(errors).toEqual([]);
});
