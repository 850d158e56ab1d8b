import {
  test, expect, signUp, signInAdmin, orderProduct, seedProduct, registerApi, placeOrderApi, catalogCard, shot, unique, PNG,
  adminApi, orderLink,
} from './fixtures';

test('an admin creates a product with an image and ships an order; the shopper page follows', async ({ newPage }) => {
  const admin = await newPage();
  const shopper = await newPage();

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
  await expect(orderLink(admin, orderId)).toBeVisible();
  await shot(admin, 'admin-orders');
});

test('an admin adjusts stock with a reason; the ledger shows it, and a correction below zero is refused', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Mug'), 5);
  await signInAdmin(page);
  await page.getByRole('link', { name: 'Products' }).click();
  await page.getByLabel('Filter').fill(product.name);
  await expect(page.getByRole('row').filter({ hasText: product.name })).toContainText('5 in stock');
  await shot(page, 'admin-products');
  await page.getByRole('link', { name: product.name }).click();
  await expect(page.getByRole('heading', { name: product.name })).toBeVisible();
  await expect(page.getByTestId('product-stock')).toHaveText('5');

  const form = page.getByRole('form', { name: 'Adjust stock' });
  const ledger = page.getByRole('table', { name: 'Stock ledger' });
  await form.getByLabel(/^Change/).fill('7');
  await form.getByLabel('Reason').fill('Restock from the supplier');
  await form.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(form.getByText('Applied: +7, stock is now 12.')).toBeVisible();
  await expect(page.getByTestId('product-stock')).toHaveText('12');
  const restock = ledger.getByRole('row').filter({ hasText: 'Restock from the supplier' });
  await expect(restock).toContainText('adjust');
  await expect(restock).toContainText('+7');
  await expect(restock.getByRole('cell', { name: '12', exact: true })).toBeVisible();

  await form.getByLabel(/^Change/).fill('-3');
  await form.getByLabel('Reason').fill('Two broken, one lost');
  await form.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(form.getByText('Applied: -3, stock is now 9.')).toBeVisible();
  await expect(page.getByTestId('product-stock')).toHaveText('9');
  await expect(ledger.getByRole('row').filter({ hasText: 'Two broken, one lost' })).toContainText('-3');

  await form.getByLabel(/^Change/).fill('-10');
  await form.getByLabel('Reason').fill('Count says none left');
  await form.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(form.getByRole('alert')).toHaveText('Refused: this would take the stock below zero (stock is 9).');
  await expect(form.getByLabel(/^Change/)).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('product-stock')).toHaveText('9');
  await expect(ledger.getByRole('row').filter({ hasText: 'Count says none left' })).toHaveCount(0);
  await shot(page, 'admin-stock-ledger');
});

test('the stock worker refuses a correction another change made impossible; the page says why', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Bowl'), 5);
  const api = await adminApi(request);
  await signInAdmin(page);
  await page.goto(`/admin/products/${product.id}`);
  await expect(page.getByTestId('product-stock')).toHaveText('5');

  // The page checks the current stock (5: −3 is fine) just before it sends. Another admin's change lands between
  // that check and the page's request: the request is held until the other change is applied.
  let sent!: () => void;
  const pageSent = new Promise<void>((resolve) => { sent = resolve; });
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  await page.route(`**/api/products/${product.id}/stock`, async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    sent();
    await released;
    await route.continue();
  });

  const form = page.getByRole('form', { name: 'Adjust stock' });
  const ledger = page.getByRole('table', { name: 'Stock ledger' });
  await form.getByLabel(/^Change/).fill('-3');
  await form.getByLabel('Reason').fill('Three chipped');
  await form.getByRole('button', { name: 'Adjust stock' }).click();
  await pageSent;

  const other = await request.post(`/api/products/${product.id}/stock`, {
    headers: api.headers, data: { delta: -4, reason: 'Sold at the counter' },
  });
  expect(other.status(), await other.text()).toBe(202);
  const { adjustment_id } = (await other.json()) as { adjustment_id: string };
  await expect.poll(async () => {
    const r = await request.get(`/api/products/${product.id}/stock/${adjustment_id}`, { headers: api.headers });
    expect(r.status(), await r.text()).toBe(200);
    return ((await r.json()) as { status: string }).status;
  }).toBe('applied');

  release();
  await expect(form.getByRole('alert')).toHaveText('Refused: it would take the stock below zero (stock is 1).');
  await expect(form.getByText(/^Applied/)).toHaveCount(0);
  // The page refreshed after the decision: the other change shows, the refused one does not.
  await expect(page.getByTestId('product-stock')).toHaveText('1');
  await expect(ledger.getByRole('row').filter({ hasText: 'Sold at the counter' })).toContainText('-4');
  await expect(ledger.getByRole('row').filter({ hasText: 'Three chipped' })).toHaveCount(0);
  await expect(form.getByRole('button', { name: 'Adjust stock' })).toBeEnabled();
  await shot(page, 'admin-stock-refused-by-worker');
});

test('an admin edits a product and (de)activates it; the catalog follows', async ({ page, request, newPage }) => {
  const product = await seedProduct(request, unique('Chair'), 50);
  const shopper = await newPage();
  let card = await catalogCard(shopper, product.name);
  await expect(card.getByText('$19.99')).toBeVisible();
  await expect(card.getByText('In stock', { exact: true })).toBeVisible();

  await signInAdmin(page);
  await page.goto(`/admin/products/${product.id}`);
  const form = page.getByRole('form', { name: 'Edit product' });
  const renamed = unique('Armchair');
  await form.getByLabel('Name').fill(renamed);
  await form.getByLabel('Price').fill('12.34');
  await form.getByLabel('Currency').fill('eur');
  await form.getByLabel('Low-stock threshold').fill('60');
  await form.getByLabel('Description').fill('Comfortable, with arms');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
  await expect(page.getByRole('heading', { name: renamed })).toBeVisible();
  await expect(form.getByLabel('Currency')).toHaveValue('EUR');
  await expect(page.getByText('Low stock (50 left)')).toBeVisible();
  await shot(page, 'admin-product-edited');

  card = await catalogCard(shopper, renamed);
  await expect(card.getByText('€12.34')).toBeVisible();
  await expect(card.getByText('Comfortable, with arms')).toBeVisible();
  await expect(card.getByText('Low stock (50 left)')).toBeVisible();

  // Back to the default threshold (5): no longer low.
  await form.getByLabel('Low-stock threshold').fill('');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByLabel('Low-stock threshold')).toHaveValue('5');
  await expect(page.getByText('In stock', { exact: true })).toBeVisible();

  await form.getByRole('button', { name: 'Deactivate' }).click();
  // Asked first.
  const dialog = page.getByRole('dialog', { name: `Deactivate ${renamed}?` });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Deactivate' }).click();
  await expect(form.getByRole('status')).toHaveText('Deactivated.');
  await expect(page.getByTestId('toast').filter({ hasText: `${renamed} is hidden from shoppers.` })).toBeVisible();
  await expect(page.getByTestId('product-active')).toHaveText('Inactive: hidden from shoppers');
  await catalogCard(shopper, renamed);
  await expect(shopper.getByText(`No products match “${renamed}”.`)).toBeVisible();
  await page.getByRole('link', { name: '← Products' }).click();
  await page.getByLabel('Filter').fill(renamed);
  await expect(page.getByRole('row').filter({ hasText: renamed })).toContainText('inactive');

  await page.getByRole('link', { name: renamed }).click();
  await form.getByRole('button', { name: 'Activate' }).click();
  await expect(form.getByRole('status')).toHaveText('Activated.');
  card = await catalogCard(shopper, renamed);
  await expect(card.getByText('€12.34')).toBeVisible();
  await expect(card.getByRole('button', { name: `Add ${renamed} to cart` })).toBeEnabled();
});

test('an admin filters all orders by status and by customer, and pages through them', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Pencil'), 100);
  const ada = await registerApi(request, 'Ada Many Orders');
  const bob = await registerApi(request, 'Bob One Order');
  const adas: string[] = [];
  for (let i = 0; i < 21; i++) adas.push(await placeOrderApi(request, ada, product.id));
  const bobs = await placeOrderApi(request, bob, product.id);
  const cancelled = adas[3];
  const r = await request.post(`/api/orders/${cancelled}/cancel`, { headers: ada.headers });
  expect(r.status(), await r.text()).toBe(202);

  await signInAdmin(page);
  await page.getByRole('link', { name: 'All orders' }).click();
  const range = page.getByRole('navigation', { name: 'Pages of orders' }).getByTestId('page-range');
  const search = page.getByLabel('Order number, customer e-mail or name');
  await expect(orderLink(page, bobs)).toBeVisible();
  // A customer in the list, by name and e-mail, filters by that customer.
  const bobButton = page.getByRole('table').getByRole('button', { name: /Bob One Order/ });
  await expect(bobButton).toContainText(bob.email);
  await bobButton.click();
  await expect(search).toHaveValue(bob.email);
  await expect(page).toHaveURL(/customer=/);
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(page, bobs)).toBeVisible();

  await search.fill(ada.email);
  await search.press('Enter');
  await expect(range).toHaveText('1–20 of 21');
  await expect(orderLink(page, bobs)).toHaveCount(0);
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows).toHaveCount(21); // a header and 20 orders, newest first
  await expect(orderLink(page, adas[20])).toBeVisible();
  await shot(page, 'admin-orders-by-customer');
  // Page 2 by cursor, and back.
  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(range).toHaveText('21–21 of 21');
  await expect(rows).toHaveCount(2);
  await expect(orderLink(page, adas[0])).toBeVisible();
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(range).toHaveText('1–20 of 21');

  await page.getByLabel('Status').selectOption('CANCELLED');
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(page, cancelled)).toBeVisible();
  await expect(page.getByRole('table').getByTestId('order-status')).toHaveText(['CANCELLED']);
  // The filters are in the address: the filtered list survives a reload.
  await page.reload();
  await expect(page.getByLabel('Status')).toHaveValue('CANCELLED');
  await expect(search).toHaveValue(ada.email);
  await expect(orderLink(page, cancelled)).toBeVisible();

  await page.getByLabel('Status').selectOption('PLACED');
  await expect(range).toHaveText('1–20 of 20');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(search).toHaveValue('');
  await expect(orderLink(page, bobs)).toBeVisible();

  // From an order, the admin reaches all orders of its customer, by name and e-mail.
  await page.goto(`/orders/${cancelled}`);
  await expect(page.getByTestId('order-customer')).toContainText(`Ada Many Orders <${ada.email}>`);
  await expect(page.getByTestId('order-reference')).toHaveAttribute('data-reference', cancelled);
  await page.getByRole('link', { name: "this customer's orders" }).click();
  await expect(range).toHaveText('1–20 of 21');
  await expect(search).toHaveValue(ada.email);

  // An older link by user id still works, though the page no longer asks for ids.
  await page.goto(`/admin/orders?user_id=${bob.id}`);
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(page, bobs)).toBeVisible();
  await expect(page.getByText("Showing one customer's orders")).toBeVisible();
});
