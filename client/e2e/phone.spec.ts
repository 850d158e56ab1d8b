// Phones (issue item 4), at 390x844: a Menu button instead of a header of links, tables as cards, nothing
// wider than the screen.
import type { Page } from '@playwright/test';
import { test, expect, signInAdmin, seedProduct, registerApi, placeOrderApi, unique, shot, orderLink } from './fixtures';

test.use({ viewport: { width: 390, height: 844 } });

const fits = async (page: Page) =>
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

test('an admin runs the shop from a phone: a collapsible menu, cards instead of tables, nothing scrolls sideways', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Phone'), 4);
  const buyer = await registerApi(request, 'Phone Buyer');
  const orderId = await placeOrderApi(request, buyer, product.id);
  await signInAdmin(page);

  // The header is one short row: the links wait behind Menu (before: 8 links over a third of the screen).
  const header = page.getByRole('banner');
  const menu = page.getByRole('button', { name: 'Menu' });
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(page.getByRole('link', { name: 'All orders' })).toBeHidden();
  expect((await header.boundingBox())!.height).toBeLessThan(80);
  await shot(page, 'phone-menu-closed');
  await menu.click();
  await expect(page.getByRole('button', { name: 'Close menu' })).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveCount(10);
  await shot(page, 'phone-menu-open');
  await page.getByRole('link', { name: 'All orders' }).click();
  // Following a link closes the menu; the new page's heading has the focus.
  await expect(page.getByRole('heading', { name: 'All orders' })).toBeFocused();
  await expect(page.getByRole('button', { name: 'Menu' })).toHaveAttribute('aria-expanded', 'false');
  // Escape closes it too.
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: 'Menu' })).toHaveAttribute('aria-expanded', 'false');

  // Orders as cards: no table, each order a card with its fields named.
  await expect(page.getByRole('table')).toHaveCount(0);
  const card = page.getByRole('list', { name: 'Orders' }).getByRole('listitem').filter({ has: page.locator(`a[href="/orders/${orderId}"]`) });
  await expect(card).toContainText('Status');
  await expect(card).toContainText('Total');
  await fits(page);
  await shot(page, 'phone-orders');

  await orderLink(card, orderId).click();
  await expect(page.getByRole('list', { name: 'Order lines' }).getByRole('listitem')).toContainText(product.name);
  await fits(page);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
  await shot(page, 'phone-order');

  await page.goto(`/admin/products/${product.id}`);
  await expect(page.getByRole('list', { name: 'Stock ledger' }).getByRole('listitem').filter({ hasText: 'initial' })).toContainText('Balance4');
  await fits(page);
  await page.goto('/ops/queues');
  await expect(page.getByRole('list', { name: 'Queues' }).getByRole('listitem').first()).toContainText('Consumers');
  await fits(page);
  await shot(page, 'phone-queues');
});
