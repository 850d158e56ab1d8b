import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderAt } from './render';
import { AdminProductPage } from '../pages/admin/AdminProductPage';
import { AdminOrdersPage } from '../pages/admin/AdminOrdersPage';
import type { Order, Product } from '../api/types';

const api = vi.hoisted(() => ({
  get: vi.fn(), patch: vi.fn(), adjustStock: vi.fn(), ledger: vi.fn(), list: vi.fn(),
}));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return {
    ...real,
    products: { ...real.products, get: api.get, patch: api.patch, adjustStock: api.adjustStock, ledger: api.ledger },
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
  localStorage.setItem('oms.session', JSON.stringify({ access: 'a', refresh: 'r', user: admin }));
  api.get.mockResolvedValue(product);
  api.ledger.mockResolvedValue({ items: [], page: 1, per_page: 20, total: 0 });
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

  it('says when an accepted adjustment shows in the ledger', async () => {
    api.adjustStock.mockResolvedValue({ adjustment_id: 'adj1', product_id: 'p1', delta: 3, reason: 'Restock' });
    renderAt('/admin/products/p1', { '/admin/products/:id': <AdminProductPage /> });
    await userEvent.type(await screen.findByLabelText(/^Change/), '3');
    await userEvent.type(screen.getByLabelText('Reason'), 'Restock');
    api.ledger.mockResolvedValue({
      items: [{ id: 'adjust:adj1', product_id: 'p1', kind: 'adjust', delta: 3, balance_after: 7, actor: 'a1', reason: 'Restock', at: '2024-01-01T00:00:00Z' }],
      page: 1, per_page: 20, total: 1,
    });
    await userEvent.click(screen.getByRole('button', { name: 'Adjust stock' }));
    expect(await screen.findByText('Applied: +3, stock is now 7.')).toBeInTheDocument();
    expect(api.adjustStock).toHaveBeenCalledWith('p1', { delta: 3, reason: 'Restock' });
  });
});

describe('all orders', () => {
  it('filters by a user when the admin clicks the user in the list', async () => {
    const order = { id: 'o-0001', user_id: 'u-42', status: 'PLACED', items: [], history: [], version: 1,
      created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', allowed_next: [] } as unknown as Order;
    api.list.mockResolvedValue({ items: [order], page: 1, per_page: 20, total: 1 });
    renderAt('/admin/orders', { '/admin/orders': <AdminOrdersPage /> });
    await userEvent.click(await screen.findByRole('button', { name: 'Only orders of user u-42' }));
    await waitFor(() => expect(api.list).toHaveBeenLastCalledWith({ status: undefined, user_id: 'u-42', page: 1, per_page: 20 }));
    expect(screen.getByLabelText('User id')).toHaveValue('u-42');
  });
});
