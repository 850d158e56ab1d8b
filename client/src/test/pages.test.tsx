import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderAt } from './render';
import { LoginPage, RegisterPage } from '../pages/AuthPages';
import { CartPage } from '../pages/CartPage';
import { OrderActions } from '../orders/OrderActions';
import { StockBadge } from '../components/ui';
import type { Order } from '../api/types';

const api = vi.hoisted(() => ({
  login: vi.fn(), register: vi.fn(), place: vi.fn(), cancel: vi.fn(), transition: vi.fn(),
}));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return {
    ...real,
    auth: { ...real.auth, login: api.login, register: api.register },
    orders: { ...real.orders, place: api.place, cancel: api.cancel, transition: api.transition },
  };
});

const fail = (status: number, error: object) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);
const user = { id: 'u1', email: 'ada@oms.test', name: 'Ada', role: 'user' as const };
const signIn = () => localStorage.setItem('oms.session', JSON.stringify({ access: 'a', refresh: 'r', user }));

beforeEach(() => vi.resetAllMocks());

describe('sign-in and sign-up forms', () => {
  it('labels its fields and shows the server message under the field it names', async () => {
    api.register.mockRejectedValue(fail(409, { code: 'email_taken', message: 'That email is already registered.', field: 'email' }));
    renderAt('/register', { '/register': <RegisterPage /> });
    await userEvent.type(screen.getByLabelText('Name'), 'Ada');
    await userEvent.type(screen.getByLabelText('Email'), 'ada@oms.test');
    await userEvent.type(screen.getByLabelText('Password'), 'long-enough');
    await userEvent.keyboard('{Enter}');
    const email = screen.getByLabelText('Email');
    await waitFor(() => expect(email).toHaveAttribute('aria-invalid', 'true'));
    expect(email).toHaveAccessibleDescription('That email is already registered.');
    expect(api.register).toHaveBeenCalledWith({ name: 'Ada', email: 'ada@oms.test', password: 'long-enough' });
  });

  it('shows an error without a field above the form', async () => {
    api.login.mockRejectedValue(fail(401, { code: 'invalid_credentials', message: 'Wrong email or password.' }));
    renderAt('/login', { '/login': <LoginPage /> });
    await userEvent.type(screen.getByLabelText('Email'), 'x@y.z');
    await userEvent.type(screen.getByLabelText('Password'), 'nope-nope');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong email or password.');
  });

  it('signs in and goes where it was asked to', async () => {
    api.login.mockResolvedValue({ user, access_token: 'a', refresh_token: 'r', token_type: 'Bearer', expires_in: 900 });
    renderAt('/login?next=/cart', { '/login': <LoginPage />, '/cart': <p>cart page</p> });
    await userEvent.type(screen.getByLabelText('Email'), 'ada@oms.test');
    await userEvent.type(screen.getByLabelText('Password'), 'long-enough');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('cart page')).toBeInTheDocument();
    expect(JSON.parse(localStorage.getItem('oms.session')!)).toMatchObject({ access: 'a', refresh: 'r' });
  });
});

describe('checkout', () => {
  const line = { productId: 'p1', name: 'Teapot', price: { amount: 1999, currency: 'USD' }, quantity: 2 };

  it('sends the same idempotency key when a checkout is retried, and a new one after the cart changes', async () => {
    signIn();
    localStorage.setItem('oms.cart', JSON.stringify([line]));
    api.place.mockRejectedValue(fail(503, { code: 'unavailable', message: 'Try again shortly.' }));
    renderAt('/cart', { '/cart': <CartPage />, '/orders/:id': <p>order page</p> });
    const place = screen.getByRole('button', { name: 'Place order' });
    await userEvent.click(place);
    expect(await screen.findByRole('alert')).toHaveTextContent('Try again shortly.');
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    await waitFor(() => expect(api.place).toHaveBeenCalledTimes(2));
    const [first, second] = api.place.mock.calls;
    expect(first[0]).toEqual({ items: [{ product_id: 'p1', quantity: 2 }] });
    expect(second[1]).toBe(first[1]);

    await userEvent.clear(screen.getByLabelText('Quantity'));
    await userEvent.type(screen.getByLabelText('Quantity'), '3');
    api.place.mockResolvedValue({ id: 'o1', status: 'PENDING' });
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    expect(await screen.findByText('order page')).toBeInTheDocument();
    const third = api.place.mock.calls.at(-1)!;
    expect(third[1]).not.toBe(first[1]);
  });

  it('shows a line error next to its line', async () => {
    signIn();
    localStorage.setItem('oms.cart', JSON.stringify([line]));
    api.place.mockRejectedValue(fail(422, { code: 'validation_failed', message: 'At most 1000.', field: 'items[0].quantity' }));
    renderAt('/cart', { '/cart': <CartPage /> });
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('At most 1000.');
    expect(screen.getByLabelText('Quantity')).toHaveAttribute('aria-invalid', 'true');
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
    await waitFor(() => expect(api.cancel).toHaveBeenCalledWith('o1'));
    expect(api.transition).not.toHaveBeenCalled();
  });

  it('shows a refusal', async () => {
    api.transition.mockRejectedValue(fail(409, { code: 'invalid_transition', message: 'Cannot go from PLACED to SHIPPED.' }));
    renderAt('/', { '/': <OrderActions order={order('PLACED', ['CONFIRMED', 'CANCELLED'])} actor="admin" /> });
    await userEvent.click(screen.getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Cannot go from PLACED to SHIPPED.');
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
