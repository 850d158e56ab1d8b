// How the client presents the order lifecycle: labels and the order of the buttons. Which transitions a caller
// may ask for is not decided here: the API sends it with every order (`allowed_next`, from the one state machine
// in contracts/src/order.rs, computed for the caller), and the server still checks (and refuses with 409).
import type { Order, OrderStatus } from '../api/types';

export type Actor = 'owner' | 'admin';

/** Final statuses: used only to stop polling an order that can no longer change, never to offer actions. */
export const FINAL: readonly OrderStatus[] = ['DELIVERED', 'CANCELLED', 'REJECTED'];

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

/** The statuses a person can ask for, in the order their buttons appear: the next step first, cancel last. */
export const ACTIONS = ['CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const satisfies readonly OrderStatus[];
export type Action = (typeof ACTIONS)[number];

export const ACTION_LABEL: Record<Action, string> = {
  CONFIRMED: 'Confirm',
  SHIPPED: 'Ship',
  DELIVERED: 'Mark delivered',
  CANCELLED: 'Cancel order',
};

/** The buttons to show for an order: what the server says the caller may do next, in button order. */
export function orderActions(order: Pick<Order, 'allowed_next'>): Action[] {
  return ACTIONS.filter((a) => order.allowed_next.includes(a));
}
