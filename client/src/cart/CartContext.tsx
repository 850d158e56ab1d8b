// The shopper's cart, kept in localStorage. Quantities are whole numbers from 1 to the stock the page knows
// of (and the API's limit per line, `LineIn.quantity`'s maximum in the OpenAPI document). Its idempotency key belongs to one checkout attempt: it stays the
// same while the cart is unchanged (a double click or a retry sends the same key) and is renewed when the cart
// changes. A placed order empties the cart only once it is PLACED: a REJECTED one leaves the cart as it was,
// to be fixed and sent again (with a new key).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Money, OrderStatus } from '../api/types';
import { LIMITS } from '../api/limits';

/** The API's limit for one line (from the OpenAPI document). */
export const MAX_LINE_QUANTITY: number = LIMITS.line.quantity.maximum;

export interface CartLine {
  productId: string;
  name: string;
  price: Money;
  quantity: number;
  imageUrl?: string | null;
}

interface CartValue {
  lines: CartLine[];
  idempotencyKey: string;
  /** The order sent from this cart that is not decided yet. */
  pendingOrder: string | null;
  /** Adds up to `quantity`, never more than `max` in all; returns how many are now in the cart. */
  add(line: Omit<CartLine, 'quantity'>, quantity?: number, max?: number): number;
  setQuantity(productId: string, quantity: number): void;
  remove(productId: string): void;
  clear(): void;
  /** The cart was sent as `orderId`. */
  sent(orderId: string): void;
  /** `orderId` was decided: PLACED (and after) empties the cart, REJECTED keeps it. */
  decided(orderId: string, status: OrderStatus): void;
  quantityOf(productId: string): number;
  count: number;
}

const KEY = 'oms.cart';
const CartContext = createContext<CartValue | null>(null);

export function newKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

export const clampQuantity = (n: number, max = MAX_LINE_QUANTITY) =>
  Math.max(1, Math.min(Math.floor(n), max, MAX_LINE_QUANTITY));

function load(): { lines: CartLine[]; pending: string | null } {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '[]') as CartLine[] | { lines: CartLine[]; pending: string | null };
    const stored = Array.isArray(raw) ? { lines: raw, pending: null } : raw;
    // Whatever an older version (or a hand edit) stored, quantities are whole and in range.
    const lines = stored.lines
      .filter((l) => l && typeof l.productId === 'string' && Number.isFinite(l.quantity))
      .map((l) => ({ ...l, quantity: clampQuantity(l.quantity) }));
    return { lines, pending: stored.pending ?? null };
  } catch {
    return { lines: [], pending: null };
  }
}

const SETTLED_OK: readonly OrderStatus[] = ['PLACED', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'];

export function CartProvider({ children }: { children: ReactNode }) {
  const [{ lines, pending }, setState] = useState(load);
  const [idempotencyKey, setKey] = useState(newKey);
  useEffect(() => localStorage.setItem(KEY, JSON.stringify({ lines, pending })), [lines, pending]);

  const change = useCallback((f: (l: CartLine[]) => CartLine[]) => {
    // A changed cart is a new checkout: a new key, and no longer the order sent before.
    setState((s) => ({ lines: f(s.lines), pending: null }));
    setKey(newKey());
  }, []);

  const value = useMemo<CartValue>(() => {
    const quantityOf = (id: string) => lines.find((l) => l.productId === id)?.quantity ?? 0;
    return {
      lines,
      idempotencyKey,
      pendingOrder: pending,
      count: lines.reduce((n, l) => n + l.quantity, 0),
      quantityOf,
      add: (line, quantity = 1, max = MAX_LINE_QUANTITY) => {
        const next = Math.min(quantityOf(line.productId) + Math.max(1, Math.floor(quantity)), max, MAX_LINE_QUANTITY);
        if (next < 1) return quantityOf(line.productId);
        change((ls) =>
          ls.some((l) => l.productId === line.productId)
            ? ls.map((l) => (l.productId === line.productId ? { ...l, ...line, quantity: next } : l))
            : [...ls, { ...line, quantity: next }],
        );
        return next;
      },
      setQuantity: (id, quantity) => {
        if (quantityOf(id) === clampQuantity(quantity)) return;
        change((ls) => ls.map((l) => (l.productId === id ? { ...l, quantity: clampQuantity(quantity) } : l)));
      },
      remove: (id) => change((ls) => ls.filter((l) => l.productId !== id)),
      clear: () => change(() => []),
      sent: (orderId) => setState((s) => ({ ...s, pending: orderId })),
      decided: (orderId, status) => {
        if (orderId !== pending) return;
        if (SETTLED_OK.includes(status)) {
          change(() => []);
        } else if (status === 'REJECTED') {
          // Kept for the shopper to fix; sending it again is a new checkout.
          setState((s) => ({ ...s, pending: null }));
          setKey(newKey());
        }
      },
    };
  }, [lines, pending, idempotencyKey, change]);
  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartValue {
  const v = useContext(CartContext);
  if (!v) throw new Error('useCart outside CartProvider');
  return v;
}
