// The shopper's cart, kept in localStorage. Its idempotency key belongs to one checkout attempt: it stays the
// same while the cart is unchanged (a double click or a retry sends the same key) and is renewed when the
// cart changes or an order is placed.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Money } from '../api/types';

export interface CartLine {
  productId: string;
  name: string;
  price: Money;
  quantity: number;
}

interface CartValue {
  lines: CartLine[];
  idempotencyKey: string;
  add(line: Omit<CartLine, 'quantity'>, quantity?: number): void;
  setQuantity(productId: string, quantity: number): void;
  remove(productId: string): void;
  clear(): void;
  count: number;
}

const KEY = 'oms.cart';
const CartContext = createContext<CartValue | null>(null);

export function newKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

function load(): CartLine[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '[]') as CartLine[];
  } catch {
    return [];
  }
}

export function CartProvider({ children }: { children: ReactNode }) {
  const [lines, setLines] = useState<CartLine[]>(load);
  const [idempotencyKey, setKey] = useState(newKey);
  useEffect(() => localStorage.setItem(KEY, JSON.stringify(lines)), [lines]);

  const change = useCallback((f: (l: CartLine[]) => CartLine[]) => {
    setLines(f);
    setKey(newKey());
  }, []);

  const value = useMemo<CartValue>(
    () => ({
      lines,
      idempotencyKey,
      count: lines.reduce((n, l) => n + l.quantity, 0),
      add: (line, quantity = 1) =>
        change((ls) =>
          ls.some((l) => l.productId === line.productId)
            ? ls.map((l) => (l.productId === line.productId ? { ...l, quantity: l.quantity + quantity } : l))
            : [...ls, { ...line, quantity }],
        ),
      setQuantity: (id, quantity) =>
        change((ls) => ls.map((l) => (l.productId === id ? { ...l, quantity: Math.max(1, quantity) } : l))),
      remove: (id) => change((ls) => ls.filter((l) => l.productId !== id)),
      clear: () => change(() => []),
    }),
    [lines, idempotencyKey, change],
  );
  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartValue {
  const v = useContext(CartContext);
  if (!v) throw new Error('useCart outside CartProvider');
  return v;
}
