// The caller's notifications, newest first, paged by the API's cursors (`components/pager.tsx`); each can be
// marked read, or all at once. Order events over the live stream read the page on screen (and the bell) again.
import { Link, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { notifications } from '../api';
import type { Notification } from '../api/types';
import { PageHeading } from '../components/page';
import { Button, Empty, ErrorBox, Loading, StatusBadge, formatTime } from '../components/ui';
import { CursorPager, useCursorList } from '../components/pager';
import { useNotificationRefresh } from '../notifications/NotificationBell';
import { orderName } from '../orders/words';

const PER_PAGE = 20;

function describe(n: Notification) {
  const order = `Order ${orderName({ id: n.order_id, number: n.order_number ?? null })}`;
  const words: Record<string, string> = {
    PLACED: 'is placed: every item is reserved',
    REJECTED: 'was rejected',
    CONFIRMED: 'is confirmed',
    SHIPPED: 'has shipped',
    DELIVERED: 'was delivered',
    CANCELLED: 'was cancelled',
  };
  return `${order} ${words[n.status] ?? `is ${n.status}`}`;
}

export function NotificationsPage() {
  const qc = useQueryClient();
  // "Unread only" lives in the address with the page (a reload, or back and forward, keep both); turning it on or
  // off builds an address without a cursor: page 1.
  const [params, setParams] = useSearchParams();
  const onlyUnread = params.get('unread') === '1';
  useNotificationRefresh();
  const { list, pager } = useCursorList({
    queryKey: ['notifications', 'list', { onlyUnread }],
    queryFn: (cursor) => notifications.list({ cursor, per_page: PER_PAGE, unread: onlyUnread ? true : undefined }),
  });
  const mark = useMutation({
    mutationFn: notifications.markRead,
    // The page on screen (read again from its cursor: a keyset cursor stays good as rows change) and the bell.
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const items = list.data?.items ?? [];
  const unread = list.data?.unread ?? 0;
  return (
    <section className="space-y-4">
      <PageHeading title="Notifications" />
      <div className="flex flex-wrap items-center gap-3">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={onlyUnread}
            onChange={(e) => setParams(e.target.checked ? { unread: '1' } : {}, { replace: true })} />
          Unread only
        </label>
        <Button variant="secondary" disabled={mark.isPending || !unread}
          onClick={() => mark.mutate({ all: true })}>
          Mark all read{unread ? ` (${unread.toLocaleString('en-US')}${unread >= 10_000 ? '+' : ''})` : ''}
        </Button>
      </div>
      <ErrorBox error={mark.error} />
      {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : (
        <>
          {items.length === 0 ? (
            pager.page === 1 && (
              <Empty>{onlyUnread ? 'Nothing unread.' : 'No notifications yet: changes to your orders show here.'}</Empty>
            )
          ) : (
            <ul className="divide-y divide-slate-200 rounded-md border border-slate-200 bg-white" aria-label="Notifications">
              {items.map((n) => (
                <li key={n.id} className={`flex flex-wrap items-center gap-3 border-l-4 px-4 py-3 ${n.read_at ? 'border-transparent' : 'border-indigo-600'}`}>
                  <StatusBadge status={n.status} />
                  <div className="min-w-0 flex-1">
                    <Link to={`/orders/${n.order_id}`} className="text-sm font-medium text-indigo-700 underline">
                      {describe(n)}
                    </Link>
                    {n.reason && <p className="text-sm text-slate-600">{n.reason}</p>}
                    <p className="text-xs text-slate-600">{formatTime(n.at)}{n.read_at ? '' : ' · unread'}</p>
                  </div>
                  {!n.read_at && (
                    <Button variant="secondary" disabled={mark.isPending} onClick={() => mark.mutate({ ids: [n.id] })}>
                      Mark read
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <CursorPager pager={pager} label="Pages of notifications" />
        </>
      )}
    </section>
  );
}
