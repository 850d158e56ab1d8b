// Numbers that cannot be entered wrong (issue item 1): prices typed the way people type them, in each currency's
// own decimals, shown before saving; quantities that cannot turn 3 into 13 or 2.5 into money.
import { test, expect, signInAdmin, signUp, seedProduct, addToCart, catalogCard, cartLink, unique, shot } from './fixtures';

test('a price typed as 49,99 is saved as 49.99, shown before saving; unreadable prices are refused; JPY has no decimals', async ({ page, request }) => {
  await signInAdmin(page);
  await page.goto('/admin/products');
  const form = page.getByRole('form', { name: 'New product' });
  const price = form.getByLabel('Price (USD)');
  const name = unique('Lamp');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('SKU').fill(unique('LAMP'));
  // Before the fix this created the product at $4,999.00.
  await price.fill('49,99');
  await expect(form.getByTestId('money-preview')).toHaveText('Saved as $49.99');
  await price.fill('49.999');
  await price.blur();
  await expect(form.getByTestId('money-preview')).toHaveText('USD amounts have at most 2 decimals.');
  await expect(price).toHaveAttribute('aria-invalid', 'true');
  await form.getByRole('button', { name: 'Create product' }).click();
  // Refused by the page: nothing was sent, and the field says why (and has the focus).
  await expect(price).toBeFocused();
  await price.fill('12abc');
  await expect(form.getByTestId('money-preview')).toHaveText('Enter a price with digits only, like 49.99 or 49,99.');
  await price.fill('1.234,50');
  await expect(form.getByTestId('money-preview')).toHaveText('Saved as $1,234.50');
  await price.fill('49,99');
  await shot(page, 'admin-price-preview');
  await form.getByRole('button', { name: 'Create product' }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  const edit = page.getByRole('form', { name: 'Edit product' });
  await expect(edit.getByLabel('Price (USD)')).toHaveValue('49.99');
  const id = page.url().split('/').pop()!;
  const saved = (await (await request.get(`/api/products/${id}`)).json()) as { price: { amount: number; currency: string } };
  expect(saved.price).toEqual({ amount: 4999, currency: 'USD' });

  // In yen a price has no decimals: 1500 is ¥1,500 (never ¥15.00), and 1500,5 is refused.
  await edit.getByLabel('Currency').fill('JPY');
  await edit.getByLabel('Price (JPY)').fill('1500,5');
  await edit.getByLabel('Price (JPY)').blur();
  await expect(edit.getByTestId('money-preview')).toHaveText('JPY amounts have no decimals: enter a whole number.');
  await edit.getByLabel('Price (JPY)').fill('1500');
  await expect(edit.getByTestId('money-preview')).toHaveText('Saved as ¥1,500');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('status')).toHaveText('Saved.');
  const yen = (await (await request.get(`/api/products/${id}`)).json()) as { price: { amount: number; currency: string } };
  expect(yen.price).toEqual({ amount: 1500, currency: 'JPY' });
  const card = await catalogCard(page, name);
  await expect(card.getByText('¥1,500')).toBeVisible();

  // In Kuwaiti dinars a price has three decimals (1 KWD = 1000 fils), in euros two.
  await page.goto(`/admin/products/${id}`);
  await edit.getByLabel('Currency').fill('KWD');
  await edit.getByLabel('Price (KWD)').fill('12.3456');
  await edit.getByLabel('Price (KWD)').blur();
  await expect(edit.getByTestId('money-preview')).toHaveText('KWD amounts have at most 3 decimals.');
  await edit.getByLabel('Price (KWD)').fill('12.345');
  await expect(edit.getByTestId('money-preview')).toHaveText('Saved as KWD\u00a012.345');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('status')).toHaveText('Saved.');
  const dinar = (await (await request.get(`/api/products/${id}`)).json()) as { price: { amount: number; currency: string } };
  expect(dinar.price).toEqual({ amount: 12345, currency: 'KWD' });
  await edit.getByLabel('Currency').fill('EUR');
  await edit.getByLabel('Price (EUR)').fill('12,30');
  await expect(edit.getByTestId('money-preview')).toHaveText('Saved as €12.30');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('status')).toHaveText('Saved.');
  const euro = (await (await request.get(`/api/products/${id}`)).json()) as { price: { amount: number; currency: string } };
  expect(euro.price).toEqual({ amount: 1230, currency: 'EUR' });
});

test('cart quantities: cleared then 3 is 3, 0 and -3 and 2.5 are refused, 999 of 12 becomes 12; the total follows', async ({ page, request }) => {
  const product = await seedProduct(request, unique('Plate'), 12);
  await signUp(page);
  await addToCart(page, product.name);
  await cartLink(page, 1).click();
  const quantity = page.getByRole('spinbutton', { name: `Quantity of ${product.name}` });
  const lineTotal = page.getByTestId('cart-line').filter({ hasText: product.name }).getByTestId('line-total');
  const place = page.getByRole('button', { name: 'Place order' });

  // The line is drawn again once the product's stock has been read: type into that one.
  await expect(page.getByText(/12 in stock/)).toBeVisible();
  // Before the fix: clearing gave 1 at once, and typing 3 then made 13.
  await quantity.clear();
  await expect(page.getByText('Enter a quantity.')).toBeVisible();
  await expect(place).toBeDisabled();
  await quantity.pressSequentially('3');
  await expect(quantity).toHaveValue('3');
  await expect(lineTotal).toHaveText('$59.97');
  await expect(cartLink(page, 3)).toBeVisible();
  await expect(place).toBeEnabled();

  // Before the fix: 0 and -3 became 1, and 2.5 priced the line at $49.98 (2.5 × $19.99).
  for (const [typed, says] of [['0', 'At least 1 (or remove the item).'], ['-3', 'At least 1 (or remove the item).'], ['2.5', 'Enter a whole number, like 3.']]) {
    await quantity.fill(typed);
    await expect(page.getByText(says)).toBeVisible();
    await expect(quantity).toHaveAttribute('aria-invalid', 'true');
    await expect(place).toBeDisabled();
    await expect(lineTotal).not.toHaveText(/49\.98|\$0\.00|-/);
  }

  // Before the fix: 999 of 12 in stock went into the cart, and the order was REJECTED.
  await quantity.fill('999');
  await expect(quantity).toHaveValue('12');
  await expect(page.getByText('Only 12 in stock: the quantity was set to 12.')).toBeVisible();
  await expect(lineTotal).toHaveText('$239.88');
  await expect(page.getByRole('button', { name: `One more: Quantity of ${product.name}` })).toBeDisabled();
  await page.getByRole('button', { name: `One fewer: Quantity of ${product.name}` }).click();
  await expect(quantity).toHaveValue('11');
  await shot(page, 'cart-quantities');
  await place.click();
  await expect(page.getByTestId('order-status')).toHaveText('PLACED');
  await expect(page.getByRole('row').filter({ hasText: product.name })).toContainText('11');

  // The catalog will not add more than there is: 1 left, 1 in the cart, then no more.
  await addToCart(page, product.name);
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: product.name, exact: true }) });
  await expect(card.getByRole('button', { name: `All 1 of ${product.name} in your cart` })).toBeDisabled();
});
