// Orders by name, not by id (issue "names not ids"): every order is `#number`, an admin sees its customer's name
// and e-mail, and finds an order by its number or a customer's orders by e-mail address in one search box.
import { test, expect, signUp, signInAdmin, seedProduct, orderProduct, orderLink, orderNumberOn, unique, shot } from './fixtures';

test('a shopper places an order; an admin finds it by its #number and by the shopper’s e-mail in upper case', async ({ page, newPage, request, allowConsoleErrors }) => {
  const product = await seedProduct(request, unique('Kettle'));
  const name = `Grace ${unique('Hopper')}`;
  const email = await signUp(page, name);
  const orderId = await orderProduct(page, product.name);
  // The order page after placing names the order by its number; its id is no text on the page, only a reference that
  // one click copies (for a support request).
  const number = await orderNumberOn(page);
  await expect(page).toHaveTitle(`Order #${number} · OMS`);
  const reference = page.getByRole('button', { name: `Copy reference of order #${number}` });
  await expect(reference).toHaveAttribute('data-reference', orderId);
  expect(await page.evaluate(() => document.body.innerText)).not.toContain(orderId);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await reference.click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Reference copied.' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(orderId);

  // My orders: the order by number, and found by it.
  await page.getByRole('link', { name: 'My orders' }).click();
  await expect(orderLink(page, orderId)).toHaveText(`#${number}`);
  const find = page.getByLabel('Find order #');
  await find.fill(String(number + 1_000_000));
  await find.press('Enter');
  await expect(page.getByText(`You have no order #${number + 1_000_000}.`)).toBeVisible();
  await find.fill(`#${number}`);
  await find.press('Enter');
  await expect(orderLink(page, orderId)).toBeVisible();

  const admin = await newPage();
  await signInAdmin(admin);
  await admin.getByRole('link', { name: 'All orders' }).click();
  const search = admin.getByLabel('Order number, customer e-mail or name');
  const range = admin.getByRole('navigation', { name: 'Pages of orders' }).getByTestId('page-range');
  const table = admin.getByRole('table', { name: 'Orders' });

  // By number, with and without "#".
  await search.fill(`#${number}`);
  await search.press('Enter');
  await expect(admin).toHaveURL(new RegExp(`[?&]number=${number}(&|$)`));
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(admin, orderId)).toHaveText(`#${number}`);
  await expect(table).toContainText(name);
  await expect(table).toContainText(email);
  await expect(table).not.toContainText(orderId);
  await shot(admin, 'admin-orders-by-number');
  await search.fill('');
  await search.press('Enter');
  await expect(admin).not.toHaveURL(/number=/);
  await search.fill(String(number));
  await search.press('Enter');
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(admin, orderId)).toBeVisible();

  // By the shopper's e-mail, typed in upper case.
  await search.fill(email.toUpperCase());
  await search.press('Enter');
  await expect(admin).toHaveURL(/[?&]customer=/);
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(admin, orderId)).toBeVisible();
  await expect(table.getByRole('button', { name: new RegExp(name) })).toContainText(email);

  // By words of the shopper's name, in any case.
  await search.fill(name.toUpperCase());
  await search.press('Enter');
  await expect(admin).toHaveURL(/[?&]customer_name=/);
  await expect(range).toHaveText('1–1 of 1');
  await expect(orderLink(admin, orderId)).toBeVisible();

  // Anything else: what the box takes, and no request.
  let asked = 0;
  admin.on('request', (r) => { if (r.url().includes('/api/orders?')) asked++; });
  await search.fill('#12a');
  await search.press('Enter');
  await expect(admin.getByRole('alert')).toHaveText('Search by order number, customer e-mail or name');
  expect(asked).toBe(0);
  await expect(orderLink(admin, orderId)).toBeVisible();

  // An address the server refuses is said in words beside the box (Chromium logs the 422).
  allowConsoleErrors(/status of 422/);
  await search.fill('nobody@');
  await search.press('Enter');
  await expect(admin.getByRole('alert')).toHaveText('Enter a whole e-mail address, like ada@example.com.');
  await expect(admin.getByText('No orders match.')).toBeVisible();

  // The order's page: its customer by name and e-mail.
  await admin.goto(`/orders/${orderId}`);
  await expect(admin.getByRole('heading', { level: 1 })).toHaveText(`Order #${number}`);
  await expect(admin.getByTestId('order-customer')).toContainText(`${name} <${email}>`);
  // Its history names the shopper by name, not as "the customer" or by id.
  await expect(admin.getByText(`PENDING by ${name}`)).toBeVisible();
});
