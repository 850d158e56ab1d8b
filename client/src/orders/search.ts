// The admin's one search box over all orders: an order number (`#1042` or `1042`), a customer's e-mail address, or
// words of a customer's name.
import type { OrderQuery } from '../api/types';

export const SEARCH_HINT = 'Search by order number, customer e-mail or name';
/** The most words of a name the server searches by. */
export const MAX_NAME_WORDS = 5;

/** What a search box's text asks for: nothing, one order by number, a customer's orders, or (with why) nothing it can. */
export type OrderSearch =
  | { kind: 'none' }
  | { kind: 'number'; number: number }
  | { kind: 'customer'; email: string }
  | { kind: 'name'; name: string }
  | { kind: 'invalid'; hint: string };

export function parseOrderSearch(text: string): OrderSearch {
  const t = text.trim();
  if (t === '') return { kind: 'none' };
  const digits = t.match(/^#?\s*(\d+)$/);
  if (digits) {
    const n = Number(digits[1]);
    if (!Number.isSafeInteger(n)) return { kind: 'invalid', hint: 'No order has a number that long.' };
    if (n < 1) return { kind: 'invalid', hint: 'Order numbers start at #1.' };
    return { kind: 'number', number: n };
  }
  // The server reads the address in any case and says when it is not one.
  if (t.includes('@')) return { kind: 'customer', email: t };
  // A name has letters; `#10a` or `-5` is a mistyped number, not a name.
  if (t.startsWith('#') || !/\p{L}/u.test(t)) return { kind: 'invalid', hint: SEARCH_HINT };
  const words = t.split(/\s+/);
  if (words.length > MAX_NAME_WORDS) return { kind: 'invalid', hint: `Search by at most ${MAX_NAME_WORDS} words of a name.` };
  return { kind: 'name', name: words.join(' ') };
}

/** The query parameters (and address parameters) a valid search sets. */
export function searchParams(s: OrderSearch): Pick<OrderQuery, 'number' | 'customer' | 'customer_name'> {
  if (s.kind === 'number') return { number: s.number };
  if (s.kind === 'customer') return { customer: s.email };
  if (s.kind === 'name') return { customer_name: s.name };
  return {};
}

/** The address's `number` (a whole number from 1), or undefined when it has none that reads. */
export function readNumber(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/** The box's text for what the address searches (`#1042`, an e-mail address, a name, or nothing). */
export function searchText(q: { number?: number; customer?: string; customer_name?: string }): string {
  if (q.number !== undefined) return `#${q.number}`;
  return q.customer ?? q.customer_name ?? '';
}
