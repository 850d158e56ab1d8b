import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useLocation } from 'react-router';
import { renderAt } from './render';
import { WebhookDeliveriesPage } from '../pages/admin/WebhookDeliveriesPage';
import { sessionStore } from '../api';
import type { Delivery, DeliveryPage, DeliveryQuery, Webhook } from '../api/types';

const api = vi.hoisted(() => ({ get: vi.fn(), deliveries: vi.fn(), retry: vi.fn() }));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return { ...real, webhooks: { ...real.webhooks, get: api.get, deliveries: api.deliveries, retry: api.retry } };
});

const admin = { id: 'a1', email: 'admin@oms.test', name: 'Admin', role: 'admin' as const };
const endpoint: Webhook = {
  id: 'w1', url: 'https://example.test/hook', events: ['order.placed'], disabled: false,
  created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z',
};
/** A cursor as the server writes them. */
const cursor = (n: number) => `d${n}.${'x'.repeat(22)}`;
const delivery = (n: number, status: Delivery['status'] = 'failed'): Delivery => ({
  id: `dl-${n}`, event_id: `evt-${n}`, event_type: 'order.placed', status,
  attempts: [{ at: '2024-01-01T00:00:00Z', response_status: 404, latency_ms: 12 }],
  created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z',
});
const pageOf = (items: Delivery[], total: number, next: string | null): DeliveryPage => ({
  items, page: 1, per_page: 20, total, total_exact: true, has_more: next !== null, next_cursor: next,
});

/** 23 deliveries, 20 to a page; `pending` ones are the first 3. */
function serve(_id: string, q: DeliveryQuery) {
  if (q.status === 'pending') return Promise.resolve(pageOf([1, 2, 3].map((n) => delivery(n, 'pending')), 3, null));
  if (q.cursor === cursor(2)) return Promise.resolve(pageOf([21, 22, 23].map((n) => delivery(n)), 23, null));
  return Promise.resolve(pageOf(Array.from({ length: 20 }, (_, i) => delivery(i + 1)), 23, cursor(2)));
}

function Address() {
  return <output data-testid="address">{useLocation().search}</output>;
}
const open = (path = '/admin/webhooks/w1/deliveries') =>
  renderAt(path, { '/admin/webhooks/:id/deliveries': <><WebhookDeliveriesPage /><Address /></> });
const address = () => new URLSearchParams(screen.getByTestId('address').textContent ?? '');
const rows = () => within(screen.getByRole('list', { name: 'Deliveries' })).getAllByTestId('delivery-status');

beforeEach(() => {
  vi.resetAllMocks();
  sessionStore.set({ access: 'a', user: admin });
  api.get.mockResolvedValue(endpoint);
  api.deliveries.mockImplementation(serve);
});

describe('webhook deliveries', () => {
  it('pages by cursor, keeping the position in the address', async () => {
    open();
    expect(await screen.findByText('1–20 of 23')).toHaveAttribute('aria-live', 'polite');
    expect(rows()).toHaveLength(20);
    expect(api.deliveries).toHaveBeenLastCalledWith('w1', { status: undefined, cursor: undefined, per_page: 20 });
    expect(screen.getByRole('navigation', { name: 'Pages of deliveries' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();
    expect(screen.getByText('evt-23')).toBeInTheDocument();
    expect(api.deliveries).toHaveBeenLastCalledWith('w1', { status: undefined, cursor: cursor(2), per_page: 20 });
    expect(address().get('cursor')).toBe(cursor(2));
    expect(address().get('page')).toBe('2');

    await userEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(address().get('cursor')).toBeNull();
  });

  it('starts again at page 1 when the status filter changes, and keeps the filter in the address', async () => {
    open(`/admin/webhooks/w1/deliveries?page=2&cursor=${cursor(2)}`);
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Status'), 'pending');
    expect(await screen.findByText('1–3 of 3')).toBeInTheDocument();
    expect(api.deliveries).toHaveBeenLastCalledWith('w1', { status: 'pending', cursor: undefined, per_page: 20 });
    expect(address().get('status')).toBe('pending');
    expect(address().get('cursor')).toBeNull();
    // One page: no buttons.
    expect(screen.queryByRole('button', { name: 'Next page' })).not.toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Status'), '');
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(address().get('status')).toBeNull();
  });

  it('reads a filter from the address, and ignores one that is not a status', async () => {
    const first = open('/admin/webhooks/w1/deliveries?status=pending');
    expect(await screen.findByText('1–3 of 3')).toBeInTheDocument();
    expect(screen.getByLabelText('Status')).toHaveValue('pending');
    first.unmount();
    open('/admin/webhooks/w1/deliveries?status=bogus');
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(api.deliveries).toHaveBeenLastCalledWith('w1', { status: undefined, cursor: undefined, per_page: 20 });
    expect(screen.getByLabelText('Status')).toHaveValue('');
  });

  it('retries a delivery and reads the page on screen again, from its cursor', async () => {
    api.retry.mockResolvedValue(undefined);
    open(`/admin/webhooks/w1/deliveries?page=2&cursor=${cursor(2)}`);
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();
    const calls = api.deliveries.mock.calls.length;
    await userEvent.click(within(screen.getByText('evt-22').closest('li')!).getByRole('button', { name: 'Retry' }));
    expect(api.retry).toHaveBeenCalledWith('w1', 'dl-22');
    expect(await screen.findByText('Retry scheduled.')).toBeInTheDocument();
    await waitFor(() => expect(api.deliveries.mock.calls.length).toBeGreaterThan(calls));
    expect(api.deliveries).toHaveBeenLastCalledWith('w1', { status: undefined, cursor: cursor(2), per_page: 20 });
    expect(screen.getByText('21–23 of 23')).toBeInTheDocument();
  });

  it('says when there are none', async () => {
    api.deliveries.mockResolvedValue(pageOf([], 0, null));
    open('/admin/webhooks/w1/deliveries?status=failed');
    expect(await screen.findByText('No deliveries failed yet.')).toBeInTheDocument();
    expect(screen.queryByTestId('page-range')).not.toBeInTheDocument();
  });
});
