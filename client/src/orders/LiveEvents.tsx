// One server-sent event stream per signed-in tab (`/api/events`, read with fetch so that the access token
// goes in the Authorization header, never in the URL): each order event updates the query cache, so every
// page showing that order follows it live without reloading.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { streamEvents, StreamUnauthorized, type SseMessage } from '../api/sse';
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
    if (!userId || typeof fetch === 'undefined' || typeof TextDecoderStream === 'undefined') return;
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;

    const onMessage = (m: SseMessage) => {
      if (m.event === 'status' || m.event === 'refused') {
        const e = JSON.parse(m.data) as OrderEvent;
        applyOrderEvent(qc, e);
        listeners.current.forEach((l) => l(e));
      } else if (m.event === 'resync' || m.event === 'lagged') {
        // Events may have been missed: reload whatever is on screen.
        void qc.invalidateQueries({ queryKey: ['order'] });
        void qc.invalidateQueries({ queryKey: ['orders'] });
      }
    };
    const connect = async () => {
      let token = api.store.get()?.access;
      // Never send a token the server will refuse: refresh an expiring one first.
      if (token && expiresSoon(token)) token = await api.refresh().catch(() => undefined);
      if (!token || stop.signal.aborted) return;
      try {
        await streamEvents('/api/events', {
          token,
          signal: stop.signal,
          onOpen: () => {
            // Whatever was read before the stream was open may have changed meanwhile (an order is
            // often PLACED within milliseconds of its 202): read it again now that no event can be missed.
            void qc.invalidateQueries({ queryKey: ['order'] });
            void qc.invalidateQueries({ queryKey: ['orders'] });
            failures = 0;
            setConnected(true);
          },
          onMessage,
        });
      } catch (err) {
        if (stop.signal.aborted) return;
        if (err instanceof StreamUnauthorized) await api.refresh().catch(() => undefined);
      }
      if (stop.signal.aborted) return;
      setConnected(false);
      failures += 1;
      timer = setTimeout(() => void connect(), Math.min(500 * 2 ** failures, 15_000));
    };
    void connect();
    return () => {
      stop.abort();
      clearTimeout(timer);
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
