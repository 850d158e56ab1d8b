import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useLocation } from 'react-router';
import { renderAt } from './render';
import { NotificationsPage } from '../pages/NotificationsPage';
import { NotificationBell } from '../notifications/NotificationBell';
import { sessionStore } from '../api';
import type { SseMessage } from '../api/sse';
import type { Notification, NotificationPage, NotificationQuery, ReadIn } from '../api/types';

const api = vi.hoisted(() => ({ list: vi.fn(), markRead: vi.fn(), stream: vi.fn() }));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return { ...real, notifications: { ...real.notifications, list: api.list, markRead: api.markRead } };
});
// The live stream: the test sends its events.
vi.mock('../api/sse', async (orig) => ({ ...(await orig<typeof import('../api/sse')>()), streamEvents: api.stream }));

const user = { id: 'u1', email: 'ada@oms.test', name: 'Ada', role: 'user' as const };
/** An access token that is not about to expire (so the stream opens without a refresh). */
const token = `h.${btoa(JSON.stringify({ exp: 4_000_000_000 })).replace(/=+$/, '')}.s`;
/** A cursor as the server writes them. */
const cursor = (n: number) => `n${n}.${'x'.repeat(22)}`;

/**
 * The caller's notifications as the server keeps them, newest first (`n1` the newest), 20 to a page; page n
 * starts at `cursor(n)`, under either filter (the server's cursors are tied to their filter: good enough here).
 */
let store: Notification[] = [];
const notification = (n: number): Notification => ({
  id: `n${n}`, order_id: `order-${String(n).padStart(8, '0')}`, status: 'SHIPPED', version: 3,
  at: '2024-01-01T00:00:00Z', read_at: null,
});
function serve(q: NotificationQuery): Promise<NotificationPage> {
  const rows = q.unread ? store.filter((n) => !n.read_at) : store;
  const per = q.per_page ?? 20;
  const page = q.cursor ? Number(q.cursor.slice(1, q.cursor.indexOf('.'))) : 1;
  const items = rows.slice((page - 1) * per, page * per);
  const more = page * per < rows.length;
  return Promise.resolve({
    items: structuredClone(items), page: 1, per_page: per, total: rows.length, total_exact: true, has_more: more,
    next_cursor: more ? cursor(page + 1) : null, unread: store.filter((n) => !n.read_at).length,
  });
}
function markRead(body: ReadIn) {
  for (const n of store) if (body.all || body.ids?.includes(n.id)) n.read_at ??= '2024-01-02T00:00:00Z';
  return Promise.resolve(undefined);
}

function Address() {
  return <output data-testid="address">{useLocation().search}</output>;
}
const open = (path = '/notifications') =>
  renderAt(path, { '/notifications': <><NotificationBell /><NotificationsPage /><Address /></> });
const address = () => new URLSearchParams(screen.getByTestId('address').textContent ?? '');
const items = () => within(screen.getByRole('list', { name: 'Notifications' })).getAllByRole('listitem');
const bell = (name: string) => screen.findByRole('link', { name });

beforeEach(() => {
  vi.resetAllMocks();
  store = Array.from({ length: 23 }, (_, i) => notification(i + 1));
  sessionStore.set({ access: token, user });
  api.list.mockImplementation(serve);
  api.markRead.mockImplementation(markRead);
  // A stream that opens and stays open until the page goes.
  api.stream.mockImplementation((_url: string, o: { signal: AbortSignal; onOpen(): void }) => {
    o.onOpen();
    return new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve()));
  });
});

describe('the notifications page', () => {
  it('names an order by its number, and by the end of its id only when it has none', async () => {
    store[0] = { ...store[0], order_number: 1042 };
    open();
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(items()[0]).toHaveTextContent('Order #1042 has shipped');
    expect(items()[1]).toHaveTextContent('Order …00000002 has shipped');
  });

  it('pages by cursor, keeping the position in the address', async () => {
    open();
    expect(await screen.findByText('1–20 of 23')).toHaveAttribute('aria-live', 'polite');
    expect(items()).toHaveLength(20);
    expect(api.list).toHaveBeenCalledWith({ cursor: undefined, per_page: 20, unread: undefined });
    expect(screen.getByRole('navigation', { name: 'Pages of notifications' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();
    expect(items()).toHaveLength(3);
    expect(api.list).toHaveBeenLastCalledWith({ cursor: cursor(2), per_page: 20, unread: undefined });
    expect(address().get('cursor')).toBe(cursor(2));
    expect(address().get('page')).toBe('2');

    await userEvent.click(screen.getByRole('button', { name: 'First page' }));
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(address().get('cursor')).toBeNull();
  });

  it('starts again at page 1 with "Unread only", which the address keeps', async () => {
    for (const n of store.slice(0, 5)) n.read_at = '2024-01-02T00:00:00Z';
    open(`/notifications?page=2&cursor=${cursor(2)}`);
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();

    await userEvent.click(screen.getByLabelText('Unread only'));
    expect(await screen.findByText('1–18 of 18')).toBeInTheDocument();
    expect(api.list).toHaveBeenLastCalledWith({ cursor: undefined, per_page: 20, unread: true });
    expect(address().get('unread')).toBe('1');
    expect(address().get('cursor')).toBeNull();
    expect(screen.getByLabelText('Unread only')).toBeChecked();

    await userEvent.click(screen.getByLabelText('Unread only'));
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(address().get('unread')).toBeNull();
  });

  it('marks one read on a later page: the page is read again from its cursor, and the bell counts one less', async () => {
    open(`/notifications?page=2&cursor=${cursor(2)}`);
    expect(await bell('Notifications, 23 unread')).toBeInTheDocument();
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mark all read (23)' })).toBeEnabled();

    await userEvent.click(within(items()[1]).getByRole('button', { name: 'Mark read' }));
    expect(api.markRead).toHaveBeenCalledWith({ ids: ['n22'] }, expect.anything());
    expect(await bell('Notifications, 22 unread')).toBeInTheDocument();
    await waitFor(() => expect(within(items()[1]).queryByRole('button', { name: 'Mark read' })).not.toBeInTheDocument());
    expect(api.list).toHaveBeenLastCalledWith({ cursor: cursor(2), per_page: 20, unread: undefined });
    expect(screen.getByText('21–23 of 23')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mark all read (22)' })).toBeInTheDocument();
  });

  it('marks all read: the bell says none, and an emptied later page of unread ones offers the way back', async () => {
    open(`/notifications?unread=1&page=2&cursor=${cursor(2)}`);
    expect(await screen.findByText('21–23 of 23')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Mark all read (23)' }));
    expect(api.markRead).toHaveBeenCalledWith({ all: true }, expect.anything());
    expect(await bell('Notifications, none unread')).toBeInTheDocument();
    expect(await screen.findByText('No more items (0 in all)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mark all read' })).toBeDisabled();

    await userEvent.click(screen.getByRole('button', { name: 'First page' }));
    expect(await screen.findByText('Nothing unread.')).toBeInTheDocument();
    expect(screen.queryByTestId('page-range')).not.toBeInTheDocument();
  });

  it('follows the live stream: an order event brings the new notification and the bell’s count', async () => {
    open();
    expect(await screen.findByText('1–20 of 23')).toBeInTheDocument();
    expect(await bell('Notifications, 23 unread')).toBeInTheDocument();
    await waitFor(() => expect(api.stream).toHaveBeenCalled());
    const { onMessage } = api.stream.mock.calls[0][1] as { onMessage(m: SseMessage): void };

    // The notifications worker adds one for the order's change; the event reaches the page over the stream.
    store.unshift({ ...notification(24), status: 'DELIVERED', version: 4 });
    act(() => onMessage({
      event: 'status',
      data: JSON.stringify({
        type: 'status', order_id: 'order-00000024', status: 'DELIVERED', from: 'SHIPPED', by: 'a1', version: 4,
        at: '2024-01-03T00:00:00Z',
      }),
    }));
    expect(await bell('Notifications, 24 unread')).toBeInTheDocument();
    expect(await screen.findByText('1–20 of 24')).toBeInTheDocument();
    expect(items()[0]).toHaveTextContent('Order …00000024 was delivered');
  });
});
