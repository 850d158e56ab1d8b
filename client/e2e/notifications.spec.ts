import { test, expect, signUp, seedProduct, unique, apiOf, adminApi, placeOrderApi } from './fixtures';

test('the bell counts the shopper’s SHIPPED a moment after the admin ships, and the list marks read', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Lamp'));
  await signUp(page);
  await expect(page.getByTitle('Live updates on')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Notifications, none unread' })).toBeVisible();

  const shopper = await apiOf(page);
  const order = await placeOrderApi(request, shopper, product.id);
  // PLACED is the first change the shopper hears of (the order's creation is their own doing).
  await expect(page.getByRole('link', { name: 'Notifications, 1 unread' })).toBeVisible();

  const admin = await adminApi(request);
  // No reload: each order event over the stream makes the bell read the count again (each step waits for the
  // last: the API checks a transition against the order as stored).
  for (const [status, count] of [['CONFIRMED', 2], ['SHIPPED', 3]] as const) {
    const r = await request.post(`/api/orders/${order}/status`, { headers: admin.headers, data: { status } });
    expect(r.status(), await r.text()).toBe(202);
    await expect(page.getByRole('link', { name: `Notifications, ${count} unread` })).toBeVisible();
  }
  await expect(page.getByTestId('unread-count')).toHaveText('3');

  await page.getByRole('link', { name: 'Notifications, 3 unread' }).click();
  await expect(page.getByRole('heading', { name: 'Notifications' })).toBeVisible();
  const list = page.getByRole('list', { name: 'Notifications' });
  await expect(list.getByRole('listitem')).toHaveCount(3);
  // Paged by cursor: one page, so only the range.
  await expect(page.getByTestId('page-range')).toHaveText('1–3 of 3');
  await expect(list.getByRole('listitem').first()).toContainText('has shipped');
  await list.getByRole('listitem').first().getByRole('button', { name: 'Mark read' }).click();
  await expect(page.getByRole('link', { name: 'Notifications, 2 unread' })).toBeVisible();
  await page.getByRole('button', { name: /Mark all read/ }).click();
  await expect(page.getByRole('link', { name: 'Notifications, none unread' })).toBeVisible();
  await expect(list.getByRole('button', { name: 'Mark read' })).toHaveCount(0);
  // "Unread only" is in the address, and survives a reload.
  // The box follows the address, which the router changes in a transition: click, then expect it ticked
  // (`check()` fails when the box is not ticked at the very moment after the click).
  await page.getByLabel('Unread only').click();
  await expect(page.getByLabel('Unread only')).toBeChecked();
  await expect(page.getByText('Nothing unread.')).toBeVisible();
  await expect(page).toHaveURL(/[?&]unread=1/);
  await page.reload();
  await expect(page.getByLabel('Unread only')).toBeChecked();
  await expect(page.getByText('Nothing unread.')).toBeVisible();
});
