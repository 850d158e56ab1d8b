// The bell in the header: how many of the caller's notifications are unread. It follows the existing event
// stream: each change of one of the caller's orders makes the notifications worker add one, so the count is
// read again a moment after each event (and again a little later, in case the worker was slower).
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { notifications } from '../api';
import { useAuth } from '../auth/AuthContext';
import { useOrderEventListener } from '../orders/LiveEvents';

export const UNREAD_KEY = ['notifications', 'unread'] as const;

/** Reads the notifications again soon after an order event, then once more a little later. */
export function useNotificationRefresh() {
  const qc = useQueryClient();
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  useOrderEventListener((e) => {
    if (e.type !== 'status') return;
    for (const wait of [300, 1_500, 5_000]) {
      timers.current.push(setTimeout(() => void qc.invalidateQueries({ queryKey: ['notifications'] }), wait));
    }
  });
}

export function NotificationBell() {
  const { user } = useAuth();
  useNotificationRefresh();
  const unread = useQuery({
    queryKey: UNREAD_KEY,
    queryFn: () => notifications.list({ unread: true, per_page: 1 }),
    enabled: !!user,
    // A fallback for events missed while the stream was reconnecting.
    refetchInterval: 60_000,
  });
  if (!user) return null;
  const count = unread.data?.unread ?? 0;
  const label = count === 0 ? 'Notifications, none unread' : `Notifications, ${count} unread`;
  return (
    <Link to="/notifications" aria-label={label} title={label}
      className="relative inline-flex items-center rounded px-2 py-1 text-slate-700 hover:bg-slate-100">
      <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M18 8a6 6 0 1 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
        <path d="M13.73 21a2 2 0 0 1-3.46 0" />
      </svg>
      {count > 0 && (
        <span data-testid="unread-count"
          className="ml-0.5 min-w-5 rounded-full bg-red-600 px-1.5 text-center text-xs font-semibold text-white">
          {count > 99 ? '99+' : count}
        </span>
      )}
    </Link>
  );
}
