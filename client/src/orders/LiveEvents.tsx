// One server-sent event stream per signed-in tab (`/api/events`): each order event updates the query cache,
// so every page showing that order follows it live without reloading.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from '../api';
import type { Order, OrderEvent, OrderStatus } from '../api/types';
import { useAuth } from '../auth/AuthContext';

type Listener = (e: OrderEvent) => void;
interface Live {
  connected: boolean;
  subscribe(l: Listener): () => void;
}
const LiveContext = createContext<Live>({ connected: false, subscribe: () => () => undefined });

/**
 * Applies one event to the cached order and refetches it and the order lists. Events do not carry
 * `allowed_next`, so a newer status clears the cached actions until the refetched order brings them.
 */
export function applyOrderEvent(qc: QueryClient, e: OrderEvent) {
  if (e.type === 'status') {
    qc.setQueryData<Order>(['order', e.order_id], (o) =>
      o && o.version < e.version ? { ...o, status: e.status, version: e.version, allowed_next: [] } : o,
    );
  }
  void qc.invalidateQueries({ queryKey: ['order', e.order_id] });
  void qc.invalidateQueries({ queryKey: ['orders'] });
  // Stock was reserved or given back: the catalog and the admin's stock views show it.
  if (e.type === 'status' && STOCK_MOVES.includes(e.status)) {
    void qc.invalidateQueries({ queryKey: ['products'] });
    void qc.invalidateQueries({ queryKey: ['product'] });
    void qc.invalidateQueries({ queryKey: ['ledger'] });
  }
}

/** The statuses an order reaches by reserving or releasing stock. */
const STOCK_MOVES: readonly OrderStatus[] = ['PLACED', 'REJECTED', 'CANCELLED'];

function expiresSoon(jwt: string): boolean {
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return !payload.exp || payload.exp * 1000 < Date.now() + 10_000;
  } catch {
    return true;
  }
}

export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const qc = useQueryClient();
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);
  const userId = user?.id;

  useEffect(() => {
    if (!userId || typeof EventSource === 'undefined') return;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;

    const connect = async () => {
      let token = api.store.get()?.access;
      if (!token) return;
      // EventSource cannot send headers or see a 401, so refresh an expiring token before (re)connecting.
      if (expiresSoon(token)) token = await api.refresh().catch(() => undefined);
      if (!token || stopped) return;
      source = new EventSource(`/api/events?access_token=${encodeURIComponent(token)}`);
      source.onopen = () => {
        // Whatever was read before the stream was open may have changed meanwhile (an order is
        // often PLACED within milliseconds of its 202): read it again now that no event can be missed.
        void qc.invalidateQueries({ queryKey: ['order'] });
        void qc.invalidateQueries({ queryKey: ['orders'] });
        failures = 0;
        setConnected(true);
      };
      const onEvent = (m: MessageEvent<string>) => {
        const e = JSON.parse(m.data) as OrderEvent;
        applyOrderEvent(qc, e);
        listeners.current.forEach((l) => l(e));
      };
      source.addEventListener('status', onEvent);
      source.addEventListener('refused', onEvent);
      // Events may have been missed: reload whatever is on screen.
      source.addEventListener('resync', () => {
        void qc.invalidateQueries({ queryKey: ['order'] });
        void qc.invalidateQueries({ queryKey: ['orders'] });
      });
      source.onerror = () => {
        setConnected(false);
        source?.close();
        failures += 1;
        if (!stopped) timer = setTimeout(connect, Math.min(1000 * 2 ** failures, 15_000));
      };
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
      setConnected(false);
    };
  }, [userId, qc]);

  const value = useRef<Live>({
    connected: false,
    subscribe: (l) => {
      listeners.current.add(l);
      return () => listeners.current.delete(l);
    },
  });
  return (
    <LiveContext.Provider value={{ ...value.current, connected }}>{children}</LiveContext.Provider>
  );
}

export const useLive = () => useContext(LiveContext);

/** Calls `fn` for each live order event (e.g. to show a refusal). */
export function useOrderEventListener(fn: Listener) {
  const { subscribe } = useLive();
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => subscribe((e) => ref.current(e)), [subscribe]);
}
