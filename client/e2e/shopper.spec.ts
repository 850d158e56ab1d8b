import type { Locator } from '@playwright/test';
import {
  test, expect, signUp, signInAdmin, seedProduct, orderProduct, addToCart, catalogCard, shot, unique, apiOf, registerApi, placeOrderApi, cartLink, orderLink, orderNumberOn,
} from './fixtures';

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
  await expect(orderLink(page, orderId)).toBeVisible();
  await shot(page, 'my-orders');

  // Phone width: nothing spills sideways on the catalog.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Menu' }).click();
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
  const number = await orderNumberOn(page);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page.getByRole('cell', { name: 'reserved' })).toBeVisible();
  card = await catalogCard(page, product.name);
  await expect(card.getByRole('button', { name: `Out of stock ${product.name}` })).toBeDisabled();
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toHaveCount(0);
  await shot(page, 'catalog-out-of-stock');

  await page.getByRole('link', { name: 'My orders' }).click();
  await orderLink(page, orderId).click();
  // Wait for the order's page: the list it was opened from shows the status twice (its table, and the
  // cards that replace the table on phones), so checking before the page has changed is ambiguous.
  await orderNumberOn(page);
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await page.getByRole('button', { name: 'Cancel order' }).click();
  // Asked first: a cancelled order cannot be reopened.
  const dialog = page.getByRole('dialog', { name: 'Cancel this order?' });
  await dialog.getByRole('button', { name: 'Cancel order' }).click();
  await expect(dialog).toHaveCount(0);
  // Pushed over server-sent events; then the line's stock is given back.
  await expect(page.getByTestId('order-status')).toHaveText('CANCELLED');
  await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  await expect(page.getByRole('listitem').filter({ hasText: 'PLACED → CANCELLED' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Returned to stock' })).toBeVisible();
  await shot(page, 'order-cancelled');

  card = await catalogCard(page, product.name);
  await expect(card.getByText('Low stock (1 left)')).toBeVisible();
  await expect(card.getByRole('button', { name: `Add ${product.name} to cart` })).toBeEnabled();

  // The admin's ledger shows the reservation and its release.
  const admin = await newPage();
  await signInAdmin(admin);
  await admin.goto(`/admin/products/${product.id}`);
  const ledger = admin.getByRole('table', { name: 'Stock ledger' });
  // The order by its number, not its id.
  const ofOrder = new RegExp(`#${number}\\b`);
  await expect(ledger.getByRole('row').filter({ hasText: 'release' }).filter({ hasText: ofOrder })).toContainText('+1');
  await expect(ledger.getByRole('row').filter({ hasText: 'reserve' }).filter({ hasText: ofOrder })).toContainText('-1');
  await expect(admin.getByTestId('product-stock')).toHaveText('1');
});

test('the cart caps at the stock; an order that meets less stock is REJECTED with the reason on its line and the cart is kept', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Vase'), 2);
  const other = await registerApi(request, 'Other Shopper');
  await signUp(page);
  await addToCart(page, product.name);
  await cartLink(page, 1).click();
  const quantity = page.getByRole('spinbutton', { name: `Quantity of ${product.name}` });
  // More than the stock cannot be asked for: 3 of 2 becomes 2 at once, and the page says so (once the
  // page knows the stock: typed before, 3 is kept until the stock arrives and then lowered, which says so
  // in other words).
  await expect(page.getByText(/2 in stock/)).toBeVisible();
  await quantity.fill('3');
  await expect(quantity).toHaveValue('2');
  await expect(page.getByText('Only 2 in stock: the quantity was set to 2.')).toBeVisible();
  await expect(cartLink(page, 2)).toBeVisible();
  await shot(page, 'cart');

  // Someone else buys one while the cart is open: the order then meets less stock than the cart showed.
  await placeOrderApi(request, other, product.id);
  await expect.poll(async () => ((await (await request.get(`/api/products/${product.id}`)).json()) as { stock: number }).stock).toBe(1);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/\/orders\/[^/]+$/);

  await expect(page.getByTestId('order-status')).toHaveText('REJECTED');
  const line = page.getByRole('row').filter({ hasText: product.name });
  await expect(line.getByTestId('reject-reason')).toHaveText('not enough stock');
  await expect(line.getByRole('cell', { name: /Not available/ })).toBeVisible();
  await expect(line).toContainText('not charged');
  await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  // The cart is kept, to be fixed and sent again.
  await expect(page.getByText('Your cart still holds these items')).toBeVisible();
  await expect(cartLink(page, 2)).toBeVisible();
  await shot(page, 'order-rejected');

  await page.getByRole('link', { name: 'fix the quantities and order again' }).click();
  await expect(page.getByText('Only 1 left in stock: the quantity was lowered to 1.')).toBeVisible();
  await expect(quantity).toHaveValue('1');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  // Placed: now the cart is empty.
  await expect(cartLink(page, 0)).toBeVisible();
  const card = await catalogCard(page, product.name);
  await expect(card.getByText('Out of stock', { exact: true }).first()).toBeVisible();
});

test('signed out, the catalog finds products by name or SKU and shows each one\'s stock: in stock, low, out', async ({ page, request }) => {
  const term = unique('Lamp');
  const plenty = await seedProduct(request, `${term} Desk`, 50);
  const few = await seedProduct(request, `${term} Floor`, 3);
  const none = await seedProduct(request, `${term} Wall`, 0);
  const other = await seedProduct(request, unique('Rug'), 50);

  await page.goto('/');
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  // Any part of the name, whatever the case.
  await page.getByRole('searchbox').fill(term.toLowerCase());
  await page.getByRole('button', { name: 'Search' }).click();
  const card = (name: string) => page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, exact: true }) });
  await expect(page.getByRole('listitem')).toHaveCount(3);
  await expect(card(other.name)).toHaveCount(0);
  await expect(card(plenty.name).getByTestId('stock-badge')).toHaveText('In stock');
  await expect(card(few.name).getByTestId('stock-badge')).toHaveText('Low stock (3 left)');
  await expect(card(none.name).getByTestId('stock-badge')).toHaveText('Out of stock');
  await expect(card(plenty.name).getByRole('button', { name: `Add ${plenty.name} to cart` })).toBeEnabled();
  await expect(card(few.name).getByRole('button', { name: `Add ${few.name} to cart` })).toBeEnabled();
  await expect(card(none.name).getByRole('button', { name: `Out of stock ${none.name}` })).toBeDisabled();
  await shot(page, 'catalog-search');

  // "In stock only" leaves out what cannot be ordered.
  // The box follows the address (changed in a router transition): click, then expect it ticked.
  await page.getByLabel('In stock only').click();
  await expect(page.getByLabel('In stock only')).toBeChecked();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await expect(card(none.name)).toHaveCount(0);
  await page.getByLabel('In stock only').click();
  await expect(page.getByLabel('In stock only')).not.toBeChecked();
  await expect(page.getByRole('listitem')).toHaveCount(3);

  // By SKU.
  await page.getByRole('searchbox').fill(other.sku);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(1);
  await expect(card(other.name).getByTestId('stock-badge')).toHaveText('In stock');

  // Nothing matches.
  const nothing = unique('Nothing');
  await page.getByRole('searchbox').fill(nothing);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText(`No products match “${nothing}”.`)).toBeVisible();
  await expect(page.getByRole('listitem')).toHaveCount(0);
});

test('a double click on "Place order" places one order', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Bowl'), 10);
  await signUp(page);
  // The Idempotency-Key of every order request the page sends.
  const keys: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/orders') keys.push(r.headers()['idempotency-key']);
  });
  const checkout = async (click: (button: Locator) => Promise<void>) => {
    await addToCart(page, product.name);
    await page.getByRole('link', { name: /Cart \(1\)/ }).click();
    keys.length = 0;
    await click(page.getByRole('button', { name: 'Place order' }));
    await expect(page).toHaveURL(/\/orders\/[^/]+$/);
    await expect(page.getByTestId('order-status')).toHaveText('PLACED');
    return page.url().split('/').pop()!;
  };
  /** The last checkout sent one order request (the page ignores the second click), with its key. */
  const oneKey = () => {
    expect(keys.length, 'order requests sent').toBe(1);
    expect(keys[0], 'the checkout key').toBeTruthy();
  };
  const mine = async () => {
    const r = await request.get('/api/orders', { headers: (await apiOf(page)).headers });
    expect(r.status(), await r.text()).toBe(200);
    return ((await r.json()) as { items: { id: string }[]; total: number });
  };

  // A shopper's double click.
  const first = await checkout((b) => b.dblclick());
  expect(await mine()).toMatchObject({ total: 1, items: [{ id: first }] });
  oneKey();

  // Harsher: two clicks in one go, before the page can re-render the button as busy.
  const second = await checkout((b) => b.evaluate((el: HTMLElement) => { el.click(); el.click(); }));
  expect(second).not.toBe(first);
  expect(await mine()).toMatchObject({ total: 2, items: [{ id: second }, { id: first }] });
  oneKey();
  await page.getByRole('link', { name: 'My orders' }).click();
  await expect(orderLink(page, first)).toBeVisible();
  await expect(orderLink(page, second)).toBeVisible();
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(3); // the header and two orders

  // One unit reserved per order, two in all.
  await expect.poll(async () => ((await (await request.get(`/api/products/${product.id}`)).json()) as { stock: number }).stock).toBe(8);
});
