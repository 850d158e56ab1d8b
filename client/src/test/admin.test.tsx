import { screen, waitFor, within } from '@testing-library/react';
import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderAt } from './render';
import { AdminProductPage } from '../pages/admin/AdminProductPage';
import { AdminOrdersPage } from '../pages/admin/AdminOrdersPage';
import type { Order, Product } from '../api/types';
import { sessionStore } from '../api';

const api = vi.hoisted(() => ({
  get: vi.fn(), patch: vi.fn(), adjustStock: vi.fn(), adjustment: vi.fn(), ledger: vi.fn(), list: vi.fn(),
}));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return {
    ...real,
    products: {
      ...real.products, get: api.get, patch: api.patch, adjustStock: api.adjustStock, adjustment: api.adjustment, ledger: api.ledger,
    },
    orders: { ...real.orders, list: api.list },
  };
});

const product: Product = {
  id: 'p1', sku: 'MUG-1', name: 'Mug', description: 'A mug', price: { amount: 1999, currency: 'USD' }, stock: 4,
  active: true, low_stock: true, low_stock_threshold: 5, image: { status: 'ready', url: null },
  created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z',
};
const admin = { id: 'a1', email: 'admin@oms.test', name: 'Admin', role: 'admin' as const };

beforeEach(() => {
  vi.resetAllMocks();
  sessionStore.set({ access: 'a', user: admin });
  api.get.mockResolvedValue(product);
  api.ledger.mockResolvedValue({ items: [], page: 1, per_page: 20, total: 0, total_exact: true, has_more: false, next_cursor: null });
});

describe('admin product page', () => {
  it('sends only what changed, currency in capitals, and an emptied threshold as the default (null)', async () => {
    api.patch.mockResolvedValue({ ...product, price: { amount: 1999, currency: 'EUR' } });
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    const currency = await screen.findByLabelText('Currency');
    await userEvent.clear(currency);
    await userEvent.type(currency, 'eur');
    await userEvent.clear(screen.getByLabelText('Low-stock threshold'));
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.patch).toHaveBeenCalledWith('p1', { currency: 'EUR', low_stock_threshold: null }));
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
  });

  it('refuses a correction below zero at once, without sending it', async () => {
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    await userEvent.type(await screen.findByLabelText(/^Change/), '-5');
    await userEvent.type(screen.getByLabelText('Reason'), 'Broken');
    await userEvent.click(screen.getByRole('button', { name: 'Adjust stock' }));
    expect(await screen.findByText('Refused: this would take the stock below zero (stock is 4).')).toBeInTheDocument();
    expect(screen.getByLabelText(/^Change/)).toHaveAttribute('aria-invalid', 'true');
    expect(api.adjustStock).not.toHaveBeenCalled();
  });

  it('follows an accepted adjustment until the worker applies it, then refreshes the product and the ledger', async () => {
    api.adjustStock.mockResolvedValue({ adjustment_id: 'adj1', product_id: 'p1', delta: 3, reason: 'Restock' });
    api.adjustment
      .mockResolvedValueOnce({ adjustment_id: 'adj1', product_id: 'p1', status: 'pending', delta: 0, balance_after: null, reason: null })
      .mockResolvedValue({ adjustment_id: 'adj1', product_id: 'p1', status: 'applied', delta: 3, balance_after: 7, reason: 'Restock' });
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    await userEvent.type(await screen.findByLabelText(/^Change/), '3');
    await userEvent.type(screen.getByLabelText('Reason'), 'Restock');
    await waitFor(() => expect(api.ledger).toHaveBeenCalledTimes(1));
    api.get.mockResolvedValue({ ...product, stock: 7, low_stock: false });
    await userEvent.click(screen.getByRole('button', { name: 'Adjust stock' }));
    expect(await screen.findByText('Adjustment accepted; waiting for the stock worker…')).toHaveAttribute('role', 'status');
    expect(screen.getByRole('button', { name: 'Adjust stock' })).toBeDisabled();
    const applied = await screen.findByText('Applied: +3, stock is now 7.', {}, { timeout: 3000 });
    expect(applied).toHaveAttribute('role', 'status');
    expect(api.adjustStock).toHaveBeenCalledWith('p1', { delta: 3, reason: 'Restock' });
    expect(api.adjustment).toHaveBeenCalledWith('p1', 'adj1');
    // The product and the ledger are asked for again once the worker has decided.
    await waitFor(() => expect(screen.getByTestId('product-stock')).toHaveTextContent('7'));
    await waitFor(() => expect(api.ledger).toHaveBeenCalledTimes(2));
    expect(screen.getByRole('button', { name: 'Adjust stock' })).toBeEnabled();
    expect(screen.queryByText(/waiting for the stock worker/)).not.toBeInTheDocument();
    // Decided: no more polling.
    const polls = api.adjustment.mock.calls.length;
    expect(polls).toBe(2);
    await new Promise((r) => setTimeout(r, 1200));
    expect(api.adjustment).toHaveBeenCalledTimes(polls);
  });

  it('says why the stock worker refused an adjustment the page could not pre-check', async () => {
    // The page sees 4 in stock, so −3 passes its check; meanwhile another change took the stock down to 1.
    api.adjustStock.mockResolvedValue({ adjustment_id: 'adj2', product_id: 'p1', delta: -3, reason: 'Broken' });
    api.adjustment.mockResolvedValue({
      adjustment_id: 'adj2', product_id: 'p1', status: 'refused', delta: 0, balance_after: null,
      reason: 'it would take the stock below zero (stock is 1)',
    });
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    await userEvent.type(await screen.findByLabelText(/^Change/), '-3');
    await userEvent.type(screen.getByLabelText('Reason'), 'Broken');
    await waitFor(() => expect(api.ledger).toHaveBeenCalledTimes(1));
    // The page's check reads 4; by the time the worker decides (and the page refreshes) it is 1.
    api.get.mockResolvedValueOnce(product).mockResolvedValue({ ...product, stock: 1 });
    await userEvent.click(screen.getByRole('button', { name: 'Adjust stock' }));
    await waitFor(() => expect(api.adjustStock).toHaveBeenCalledWith('p1', { delta: -3, reason: 'Broken' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Refused: it would take the stock below zero (stock is 1).');
    expect(screen.queryByText(/^Applied/)).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('product-stock')).toHaveTextContent('1'));
    await waitFor(() => expect(api.ledger).toHaveBeenCalledTimes(2));
    expect(api.adjustment).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('button', { name: 'Adjust stock' })).toBeEnabled();
  });
});

const order = (id: string, userId = 'u-42', extra: Partial<Order> = {}) => ({
  id, user_id: userId, status: 'PLACED', items: [], history: [], version: 1,
  created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', allowed_next: [], ...extra,
}) as unknown as Order;
/** A cursor as the server writes them. */
const cursor = (n: number) => `c${n}.${'x'.repeat(22)}`;
const page = (items: Order[]) => ({ items, page: 1, per_page: 20, total: items.length, total_exact: true, has_more: false });
const fail = (status: number, error: object) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);

describe('all orders', () => {
  const ada = order('o-0001', 'u-42', { number: 1042, customer: { name: 'Ada Lovelace', email: 'ada@oms.test' } });

  it('names orders by number and customers by name; a customer in the list filters by their e-mail', async () => {
    api.list.mockResolvedValue(page([ada, order('o-old-00000099', 'u-7')]));
    renderAt('/admin/orders', { '/admin/orders': <AdminOrdersPage /> });
    const table = await screen.findByRole('table', { name: 'Orders' });
    expect(within(table).getByRole('link', { name: '#1042' })).toHaveAttribute('href', '/orders/o-0001');
    expect(within(table).getByRole('link', { name: '…00000099' })).toHaveAttribute('href', '/orders/o-old-00000099');
    expect(table).toHaveTextContent('Ada Lovelace');
    expect(table).toHaveTextContent('ada@oms.test');
    expect(table).not.toHaveTextContent('u-42');
    await userEvent.click(within(table).getByRole('button', { name: /Ada Lovelace/ }));
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith(expect.objectContaining({ customer: 'ada@oms.test', cursor: undefined })));
    expect(screen.getByLabelText('Order number, customer e-mail or name')).toHaveValue('ada@oms.test');
  });

  it('filters an old order without a customer by its account (and keeps old user_id links working)', async () => {
    api.list.mockResolvedValue(page([order('o-old-00000099', 'u-7')]));
    renderAt('/admin/orders', { '/admin/orders': <AdminOrdersPage /> });
    const table = await screen.findByRole('table', { name: 'Orders' });
    // Named for people, never by the account's id (nor the end of it).
    const account = within(table).getByRole('button', { name: /only this customer's orders/ });
    expect(account).toHaveTextContent(/^Customer account/);
    expect(table).not.toHaveTextContent('u-7');
    await userEvent.click(account);
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith(expect.objectContaining({ user_id: 'u-7' })));
    expect(screen.getByText(/Showing one customer's orders/)).toBeInTheDocument();
  });

  it('searches by number, e-mail or name, and says what it searches for without asking the server otherwise', async () => {
    api.list.mockResolvedValue(page([ada]));
    renderAt('/admin/orders?user_id=u-42', { '/admin/orders': <AdminOrdersPage /> });
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith(expect.objectContaining({ user_id: 'u-42' })));
    const box = screen.getByLabelText('Order number, customer e-mail or name');
    await userEvent.type(box, '#1042{Enter}');
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith({
      status: undefined, number: 1042, customer: undefined, customer_name: undefined, user_id: undefined, cursor: undefined, per_page: 20,
    }));
    await userEvent.clear(box);
    await userEvent.type(box, 'ADA@OMS.TEST{Enter}');
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith(expect.objectContaining({ number: undefined, customer: 'ADA@OMS.TEST' })));
    await userEvent.clear(box);
    await userEvent.type(box, 'Ada Lovelace{Enter}');
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith(expect.objectContaining({ customer: undefined, customer_name: 'Ada Lovelace' })));
    const calls = api.list.mock.calls.length;
    await userEvent.clear(box);
    await userEvent.type(box, '#10a{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('Search by order number, customer e-mail or name');
    expect(api.list).toHaveBeenCalledTimes(calls);
  });

  it('says a refused search in words beside the box', async () => {
    api.list.mockRejectedValue(fail(422, {
      code: 'invalid_query', message: 'customer: does not match "^[^@\\s]+@[^@\\s]+$"', field: 'customer',
      details: [{ field: 'customer', code: 'invalid_query', message: 'does not match "^[^@\\s]+@[^@\\s]+$"' }],
    }));
    renderAt('/admin/orders?customer=ada%40', { '/admin/orders': <AdminOrdersPage /> });
    expect(await screen.findByRole('alert')).toHaveTextContent('Enter a whole e-mail address, like ada@example.com.');
    expect(document.body).not.toHaveTextContent('does not match');
  });

  it('pages by cursor, says when the total is not exact, and starts again at page 1 when the filter changes', async () => {
    api.list.mockImplementation(async (q: { cursor?: string; status?: string }) => q.cursor
      ? { items: [order('o-0021')], page: 1, per_page: 20, total: 10_000, total_exact: false, has_more: true, next_cursor: cursor(3) }
      : {
        items: Array.from({ length: 20 }, (_, i) => order(`o-${String(i + 1).padStart(4, '0')}`)), page: 1, per_page: 20,
        total: q.status ? 20 : 10_000, total_exact: Boolean(q.status), has_more: !q.status, next_cursor: q.status ? null : cursor(2),
      });
    renderAt('/admin/orders', { '/admin/orders': <AdminOrdersPage /> });
    expect(await screen.findByText('1–20 of 10,000+')).toHaveAttribute('aria-live', 'polite');
    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('21–21 of 10,000+')).toBeInTheDocument();
    expect(api.list).toHaveBeenLastCalledWith({ status: undefined, user_id: undefined, cursor: cursor(2), per_page: 20 });

    await userEvent.selectOptions(screen.getByLabelText('Status'), 'PLACED');
    expect(await screen.findByText('1–20 of 20')).toBeInTheDocument();
    expect(api.list).toHaveBeenLastCalledWith({ status: 'PLACED', user_id: undefined, cursor: undefined, per_page: 20 });
    expect(screen.queryByRole('button', { name: 'Next page' })).not.toBeInTheDocument();
  });
});

describe('the stock ledger', () => {
  it('walks its pages with Next and Previous', async () => {
    const entry = (n: number) => ({
      id: `e${n}`, product_id: 'p1', kind: 'adjustment', delta: 1, balance_after: n, order_id: null, actor: 'a1',
      reason: `entry ${n}`, at: '2024-01-01T00:00:00Z',
    });
    api.ledger.mockImplementation(async (_id: string, q: { cursor?: string }) => q.cursor
      ? { items: [entry(21), entry(22)], page: 1, per_page: 20, total: 22, total_exact: true, has_more: false, next_cursor: null }
      : {
        items: Array.from({ length: 20 }, (_, i) => entry(i + 1)), page: 1, per_page: 20, total: 22, total_exact: true,
        has_more: true, next_cursor: cursor(2),
      });
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    expect(await screen.findByText('1–20 of 22')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('21–22 of 22')).toBeInTheDocument();
    expect(screen.getAllByText('entry 22').length).toBeGreaterThan(0);
    expect(api.ledger).toHaveBeenLastCalledWith('p1', { cursor: cursor(2), per_page: 20 });
    await userEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(await screen.findByText('1–20 of 22')).toBeInTheDocument();
    expect(screen.queryAllByText('entry 22')).toHaveLength(0);
  });
});
