import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderAt } from './render';
import { LoginPage, RegisterPage } from '../pages/AuthPages';
import { CartPage } from '../pages/CartPage';
import { OrderActions } from '../orders/OrderActions';
import { OrderDetailPage } from '../pages/OrderDetailPage';
import { StockBadge } from '../components/ui';
import { sessionStore } from '../api';
import type { Order } from '../api/types';

const api = vi.hoisted(() => ({
  login: vi.fn(), register: vi.fn(), place: vi.fn(), cancel: vi.fn(), transition: vi.fn(), get: vi.fn(), product: vi.fn(),
}));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return {
    ...real,
    auth: { ...real.auth, login: api.login, register: api.register },
    orders: { ...real.orders, place: api.place, cancel: api.cancel, transition: api.transition, get: api.get },
    products: { ...real.products, get: api.product },
  };
});

const fail = (status: number, error: object) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);
const user = { id: 'u1', email: 'ada@oms.test', name: 'Ada', role: 'user' as const };
const signIn = () => sessionStore.set({ access: 'a', user });

beforeEach(() => vi.resetAllMocks());

describe('sign-in and sign-up forms', () => {
  it('labels its fields and shows what to do under the field the server names', async () => {
    api.register.mockRejectedValue(fail(409, { code: 'email_taken', message: 'That email is already registered.', field: 'email' }));
    renderAt('/register', { '/register': <RegisterPage /> });
    await userEvent.type(screen.getByLabelText('Name'), 'Ada');
    await userEvent.type(screen.getByLabelText('Email'), 'ada@oms.test');
    await userEvent.type(screen.getByLabelText('Password'), 'long-enough');
    await userEvent.keyboard('{Enter}');
    const email = screen.getByLabelText('Email');
    await waitFor(() => expect(email).toHaveAttribute('aria-invalid', 'true'));
    expect(email).toHaveAccessibleDescription('An account with this e-mail address already exists. Sign in instead.');
    // The first field at fault has the focus.
    await waitFor(() => expect(email).toHaveFocus());
    expect(api.register).toHaveBeenCalledWith({ name: 'Ada', email: 'ada@oms.test', password: 'long-enough' });
  });

  it('shows every invalid field of an empty sign-up at once, each beside its field', async () => {
    api.register.mockRejectedValue(fail(422, {
      code: 'validation_failed', message: 'name: must not be empty; …', field: 'name',
      details: [
        { field: 'name', code: 'validation_failed', message: 'must not be empty' },
        { field: 'email', code: 'validation_failed', message: 'must not be empty' },
        { field: 'password', code: 'validation_failed', message: 'must be at least 8 characters' },
      ],
    }));
    renderAt('/register', { '/register': <RegisterPage /> });
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    await waitFor(() => expect(screen.getByLabelText('Name')).toHaveAccessibleDescription('Name is required.'));
    expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('E-mail is required.');
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription('Use at least 8 characters.');
    expect(screen.getAllByRole('alert')).toHaveLength(3);
  });

  it('shows an error without a field above the form', async () => {
    api.login.mockRejectedValue(fail(401, { code: 'invalid_credentials', message: 'Wrong email or password.' }));
    renderAt('/login', { '/login': <LoginPage /> });
    await userEvent.type(screen.getByLabelText('Email'), 'x@y.z');
    await userEvent.type(screen.getByLabelText('Password'), 'nope-nope');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The e-mail address or password is wrong.');
  });

  it('signs in and goes where it was asked to', async () => {
    api.login.mockResolvedValue({ user, access_token: 'a', token_type: 'Bearer', expires_in: 900 });
    renderAt('/login?next=/cart', { '/login': <LoginPage />, '/cart': <p>cart page</p> });
    await userEvent.type(screen.getByLabelText('Email'), 'ada@oms.test');
    await userEvent.type(screen.getByLabelText('Password'), 'long-enough');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('cart page')).toBeInTheDocument();
    // The token stays in memory; storage holds only who signed in.
    expect(sessionStore.get()).toMatchObject({ access: 'a', user });
    expect(JSON.stringify({ ...localStorage })).not.toContain('"a"');
  });
});

describe('checkout', () => {
  const line = { productId: 'p1', name: 'Teapot', price: { amount: 1999, currency: 'USD' }, quantity: 2 };
  const teapot = {
    id: 'p1', sku: 'T-1', name: 'Teapot', description: '', price: { amount: 1999, currency: 'USD' }, stock: 12, active: true,
    low_stock: false, low_stock_threshold: 5, image: { status: 'none', url: null }, created_at: '', updated_at: '',
  };
  const quantity = () => screen.getByRole('spinbutton', { name: 'Quantity of Teapot' });

  it('sends the same idempotency key when a checkout is retried, and a new one after the cart changes', async () => {
    signIn();
    api.product.mockResolvedValue(teapot);
    localStorage.setItem('oms.cart', JSON.stringify([line]));
    api.place.mockRejectedValue(fail(503, { code: 'service_unavailable', message: 'the message broker is unavailable' }));
    renderAt('/cart', { '/cart': <CartPage />, '/orders/:id': <p>order page</p> });
    const place = screen.getByRole('button', { name: 'Place order' });
    await userEvent.click(place);
    expect(await screen.findByRole('alert')).toHaveTextContent('Part of the shop is down for a moment. Nothing was changed: try again shortly.');
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    await waitFor(() => expect(api.place).toHaveBeenCalledTimes(2));
    const [first, second] = api.place.mock.calls;
    expect(first[0]).toEqual({ items: [{ product_id: 'p1', quantity: 2 }] });
    expect(second[1]).toBe(first[1]);

    await userEvent.clear(quantity());
    await userEvent.type(quantity(), '3');
    api.place.mockResolvedValue({ id: 'o1', status: 'PENDING', version: 1 });
    api.get.mockResolvedValue({ id: 'o1', status: 'PENDING', version: 1 });
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    expect(await screen.findByText('order page')).toBeInTheDocument();
    const third = api.place.mock.calls.at(-1)!;
    expect(third[0]).toEqual({ items: [{ product_id: 'p1', quantity: 3 }] });
    expect(third[1]).not.toBe(first[1]);
  });

  it('never makes 13 of a cleared 1 and a typed 3, 1 of 0 or -3, or 2 of 2.5; caps at the stock', async () => {
    signIn();
    api.product.mockResolvedValue(teapot);
    localStorage.setItem('oms.cart', JSON.stringify([{ ...line, quantity: 1 }]));
    renderAt('/cart', { '/cart': <CartPage /> });
    await userEvent.clear(quantity());
    expect(quantity()).toHaveAccessibleDescription('Enter a quantity.');
    await userEvent.type(quantity(), '3');
    expect(quantity()).toHaveValue('3');
    await waitFor(() => expect(JSON.parse(localStorage.getItem('oms.cart')!).lines[0].quantity).toBe(3));
    for (const [typed, says] of [['0', 'At least 1 (or remove the item).'], ['-3', 'At least 1 (or remove the item).'], ['2.5', 'Enter a whole number, like 3.']]) {
      await userEvent.clear(quantity());
      await userEvent.type(quantity(), typed);
      expect(quantity()).toHaveValue(typed);
      expect(quantity()).toHaveAccessibleDescription(says);
      expect(quantity()).toHaveAttribute('aria-invalid', 'true');
      expect(screen.getByRole('button', { name: 'Place order' })).toBeDisabled();
      // The cart holds the last whole quantity typed (3, or the 2 of "2.5" before its "."), never 0, -3 or 2.5.
      const held = JSON.parse(localStorage.getItem('oms.cart')!).lines[0].quantity as number;
      expect(Number.isInteger(held) && held >= 1 && held <= 3).toBe(true);
    }
    await userEvent.clear(quantity());
    await userEvent.type(quantity(), '999');
    expect(quantity()).toHaveValue('12');
    expect(screen.getByRole('button', { name: 'Place order' })).toBeEnabled();
    expect(await screen.findByText('Only 12 in stock: the quantity was set to 12.')).toBeInTheDocument();
    expect(JSON.parse(localStorage.getItem('oms.cart')!).lines[0].quantity).toBe(12);
    await userEvent.click(screen.getByRole('button', { name: 'One more: Quantity of Teapot' }));
    expect(quantity()).toHaveValue('12');
    await userEvent.click(screen.getByRole('button', { name: 'One fewer: Quantity of Teapot' }));
    expect(quantity()).toHaveValue('11');
    // A spin button with its bounds and value, for screen readers (and axe, with nothing left to review).
    expect(quantity()).toHaveAttribute('aria-valuenow', '11');
    expect(quantity()).toHaveAttribute('aria-valuemin', '1');
    expect(quantity()).toHaveAttribute('aria-valuemax', '12');
    await userEvent.clear(quantity());
    expect(quantity()).not.toHaveAttribute('aria-valuenow');
  });

  it('lowers a line to the stock there is now, and says so', async () => {
    api.product.mockResolvedValue({ ...teapot, stock: 4 });
    localStorage.setItem('oms.cart', JSON.stringify([{ ...line, quantity: 9 }]));
    renderAt('/cart', { '/cart': <CartPage /> });
    expect(await screen.findByText('Only 4 left in stock: the quantity was lowered to 4.')).toBeInTheDocument();
    // The stepper shows the lowered quantity on its next render.
    await waitFor(() => expect(quantity()).toHaveValue('4'));
  });

  it('shows a line error next to its line', async () => {
    signIn();
    api.product.mockResolvedValue(teapot);
    localStorage.setItem('oms.cart', JSON.stringify([line]));
    api.place.mockRejectedValue(fail(422, {
      code: 'validation_failed', message: 'items[0].quantity: must be between 1 and 1000', field: 'items[0].quantity',
      details: [{ field: 'items[0].quantity', code: 'validation_failed', message: 'must be between 1 and 1000' }],
    }));
    renderAt('/cart', { '/cart': <CartPage /> });
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Enter a whole number from 1 to 1000.');
    expect(quantity()).toHaveAttribute('aria-invalid', 'true');
  });
});

describe('order actions', () => {
  const order = (status: Order['status'], allowed_next: Order['allowed_next']) =>
    ({ id: 'o1', user_id: 'u1', status, items: [], history: [], version: 1, created_at: '', updated_at: '', allowed_next }) as Order;

  it('offers an admin what the server allows: the next step and cancel', () => {
    renderAt('/', { '/': <OrderActions order={order('PLACED', ['CONFIRMED', 'CANCELLED'])} actor="admin" /> });
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Confirm', 'Cancel order']);
  });

  it('offers nothing once shipped to the owner', () => {
    renderAt('/', { '/': <OrderActions order={order('SHIPPED', [])} actor="owner" /> });
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('offers nothing the server did not allow, whatever the status', () => {
    renderAt('/', { '/': <OrderActions order={order('PLACED', [])} actor="admin" /> });
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('lets the owner cancel through the cancel endpoint', async () => {
    api.cancel.mockResolvedValue(order('PLACED', ['CANCELLED']));
    renderAt('/', { '/': <OrderActions order={order('PLACED', ['CANCELLED'])} actor="owner" /> });
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Cancel order']);
    await userEvent.click(screen.getByRole('button', { name: 'Cancel order' }));
    // Asked first; keeping the order sends nothing.
    const dialog = await screen.findByRole('dialog', { name: 'Cancel this order?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Keep the order' }));
    expect(api.cancel).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: 'Cancel order' }));
    await userEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Cancel order' }));
    await waitFor(() => expect(api.cancel).toHaveBeenCalledWith('o1'));
    expect(api.transition).not.toHaveBeenCalled();
  });

  it('shows a refusal', async () => {
    api.transition.mockRejectedValue(fail(409, { code: 'invalid_transition', message: 'Cannot go from PLACED to SHIPPED.', field: 'status' }));
    renderAt('/', { '/': <OrderActions order={order('PLACED', ['CONFIRMED', 'CANCELLED'])} actor="admin" /> });
    await userEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This order cannot make that step now: it has moved on meanwhile.');
    expect(api.transition).toHaveBeenCalledWith('o1', { status: 'CONFIRMED', reason: null });
  });
});

describe('stock badge', () => {
  it.each([
    [{ stock: 0, low_stock: true }, 'Out of stock'],
    [{ stock: 3, low_stock: true }, 'Low stock (3 left)'],
    [{ stock: 30, low_stock: false }, 'In stock'],
  ])('%j → %s', (p, text) => {
    renderAt('/', { '/': <StockBadge product={p} /> });
    expect(screen.getByText(text)).toBeInTheDocument();
  });
});

describe('an order page', () => {
  const placed = {
    id: 'o-1234567890abcdef', user_id: 'u9', status: 'PLACED', items: [], history: [], version: 1,
    created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', allowed_next: [],
  } as unknown as Order;
  const admin = { id: 'a1', email: 'admin@oms.test', name: 'Admin', role: 'admin' as const };

  it('names the order by number and, for an admin, its customer by name and e-mail; the id is only copied, never shown', async () => {
    sessionStore.set({ access: 'a', user: admin });
    api.get.mockResolvedValue({ ...placed, number: 1042, customer: { name: 'Grace Hopper', email: 'grace@oms.test' } });
    renderAt('/orders/o-1234567890abcdef', { '/orders/:id': <OrderDetailPage /> });
    expect(await screen.findByRole('heading', { level: 1 })).toHaveTextContent('Order #1042');
    expect(screen.getByTestId('order-customer')).toHaveTextContent('Grace Hopper <grace@oms.test>');
    expect(screen.getByRole('link', { name: "this customer's orders" })).toHaveAttribute('href', '/admin/orders?customer=grace%40oms.test');
    const reference = screen.getByRole('button', { name: 'Copy reference of order #1042' });
    expect(reference).toHaveAttribute('title', 'Reference o-1234567890abcdef');
    expect(document.body).not.toHaveTextContent('o-1234567890abcdef');
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await userEvent.click(reference);
    expect(writeText).toHaveBeenCalledWith('o-1234567890abcdef');
    expect(await screen.findByText('Reference copied.')).toBeInTheDocument();
  });

  it('falls back to the end of the id for an order from before numbers, and to "Customer account" (never its id) for one from before names', async () => {
    sessionStore.set({ access: 'a', user: admin });
    api.get.mockResolvedValue(placed);
    renderAt('/orders/o-1234567890abcdef', { '/orders/:id': <OrderDetailPage /> });
    expect(await screen.findByRole('heading', { level: 1 })).toHaveTextContent('Order …90abcdef');
    expect(screen.getByTestId('order-customer')).toHaveTextContent('Customer: Customer account (not named on this order)');
    expect(screen.getByTestId('order-customer')).not.toHaveTextContent('u9');
    expect(screen.getByRole('link', { name: "this customer's orders" })).toHaveAttribute('href', '/admin/orders?user_id=u9');
  });
});
