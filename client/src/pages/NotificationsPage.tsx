import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { notifications } from '../api';
import type { Notification } from '../api/types';
import { PageHeading } from '../components/page';
import { Button, Empty, ErrorBox, Loading, Pager, StatusBadge, formatTime } from '../components/ui';
import { useNotificationRefresh } from '../notifications/NotificationBell';

const PER_PAGE = 20;

function describe(n: Notification) {
  const order = `Order …${n.order_id.slice(-8)}`;
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
  const [page, setPage] = useState(1);
  const [onlyUnread, setOnlyUnread] = useState(false);
  useNotificationRefresh();
  const list = useQuery({
    queryKey: ['notifications', 'list', page, onlyUnread],
    queryFn: () => notifications.list({ page, per_page: PER_PAGE, unread: onlyUnread ? true : undefined }),
  });
  const mark = useMutation({
    mutationFn: notifications.markRead,
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const items = list.data?.items ?? [];
  return (
    <section className="space-y-4">
      <PageHeading title="Notifications" />
      <div className="flex flex-wrap items-center gap-3">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={onlyUnread} onChange={(e) => { setOnlyUnread(e.target.checked); setPage(1); }} />
          Unread only
        </label>
        <Button variant="secondary" disabled={mark.isPending || !list.data?.unread}
          onClick={() => mark.mutate({ all: true })}>
          Mark all read{list.data?.unread ? ` (${list.data.unread})` : ''}
        </Button>
      </div>
      <ErrorBox error={mark.error} />
      {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : items.length === 0 ? (
        <Empty>{onlyUnread ? 'Nothing unread.' : 'No notifications yet: changes to your orders show here.'}</Empty>
      ) : (
        <>
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
          <Pager page={page} perPage={PER_PAGE} total={list.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
