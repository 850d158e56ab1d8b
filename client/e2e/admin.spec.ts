import { test, expect, signUp, signInAdmin, orderProduct, shot, unique, PNG } from './fixtures';

test('an admin creates a product with an image and ships an order; the shopper page follows', async ({ browser }) => {
  const adminCtx = await browser.newContext();
  const shopperCtx = await browser.newContext();
  const admin = await adminCtx.newPage();
  const shopper = await shopperCtx.newPage();

  await signInAdmin(admin);
  await admin.getByRole('link', { name: 'Products' }).click();
  const name = unique('Lamp');
  const form = admin.getByRole('form', { name: 'New product' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('SKU').fill(unique('LAMP'));
  await form.getByLabel('Price').fill('24.50');
  await form.getByLabel('Initial stock').fill('10');
  await form.getByLabel('Description').fill('A desk lamp');
  await form.getByLabel(/Image/).setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: PNG });
  await expect(form.getByAltText('Preview of the chosen image')).toBeVisible();
  await form.getByRole('button', { name: 'Create product' }).click();
  await expect(admin.getByRole('heading', { name })).toBeVisible();
  await expect(admin.getByTestId('image-status')).toHaveText('Image: ready');
  await expect(admin.getByRole('table', { name: 'Stock ledger' }).getByRole('cell', { name: 'initial', exact: true })).toBeVisible();
  await shot(admin, 'admin-product');

  await signUp(shopper);
  const orderId = await orderProduct(shopper, name);
  await expect(shopper.getByTestId('order-status')).toHaveText('PLACED');

  await admin.goto(`/orders/${orderId}`);
  await expect(admin.getByTestId('order-status')).toHaveText('PLACED');
  // Only what the state machine allows from PLACED.
  await expect(admin.getByRole('button', { name: 'Ship' })).toHaveCount(0);
  await admin.getByRole('button', { name: 'Confirm' }).click();
  await expect(admin.getByTestId('order-status')).toHaveText('CONFIRMED');
  await expect(shopper.getByTestId('order-status')).toHaveText('CONFIRMED');
  await admin.getByRole('button', { name: 'Ship' }).click();
  await expect(admin.getByTestId('order-status')).toHaveText('SHIPPED');
  await expect(shopper.getByTestId('order-status')).toHaveText('SHIPPED');
  // Shipped: the shopper can no longer cancel.
  await expect(shopper.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  await shot(shopper, 'shopper-order-shipped');
  await shot(admin, 'admin-order-shipped');

  await admin.getByRole('link', { name: 'All orders' }).click();
  await admin.getByLabel('Status').selectOption('SHIPPED');
  await expect(admin.getByRole('link', { name: orderId.slice(-8) })).toBeVisible();
  await shot(admin, 'admin-orders');
  await adminCtx.close();
  await shopperCtx.close();
});
