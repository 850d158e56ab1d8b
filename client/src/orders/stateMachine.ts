// The order lifecycle as the client sees it: the one place that says which transitions a role may ask for.
// It mirrors `allowed_next` in contracts/src/order.rs; the server still decides (and refuses with 409).
import type { OrderStatus } from '../api/types';

export type Actor = 'owner' | 'admin';

export const FINAL: readonly OrderStatus[] = ['DELIVERED', 'CANCELLED', 'REJECTED'];

const ADMIN_NEXT: Partial<Record<OrderStatus, OrderStatus>> = {
  PLACED: 'CONFIRMED',
  CONFIRMED: 'SHIPPED',
  SHIPPED: 'DELIVERED',
};

const CANCELLABLE: readonly OrderStatus[] = ['PENDING', 'PLACED', 'CONFIRMED'];

export function allowedNext(from: OrderStatus, actor: Actor): OrderStatus[] {
  const next: OrderStatus[] = [];
  const step = ADMIN_NEXT[from];
  if (actor === 'admin' && step) next.push(step);
  if (CANCELLABLE.includes(from)) next.push('CANCELLED');
  return next;
}

export const isFinal = (s: OrderStatus) => FINAL.includes(s);

export const ALL_STATUSES: readonly OrderStatus[] = [
  'PENDING',
  'PLACED',
  'REJECTED',
  'CONFIRMED',
  'SHIPPED',
  'DELIVERED',
  'CANCELLED',
];

export const ACTION_LABEL: Record<OrderStatus, string> = {
  PENDING: 'Pending',
  PLACED: 'Place',
  REJECTED: 'Reject',
  CONFIRMED: 'Confirm',
  SHIPPED: 'Ship',
  DELIVERED: 'Mark delivered',
  CANCELLED: 'Cancel order',
};
