// Order words for people: who did something (never a bare user id), and where a line's stock stands.
import type { LineOut, Order } from '../api/types';

/** The person behind a history entry or a ledger entry, as the viewer knows them: by the name
 * the server gives when the viewer may know it (`by_name`, `actor_name`), never by a user id. */
export function who(
  by: string,
  viewer: { id: string } | null,
  order?: Pick<Order, 'user_id'>,
  name?: string | null,
): string {
  if (by === 'system') return 'OMS';
  if (viewer && by === viewer.id) return 'you';
  if (name) return name;
  if (order && by === order.user_id) return 'the customer';
  return 'an administrator';
}

export const RESERVATION_WORDS: Record<LineOut['reservation'], string> = {
  pending: 'Waiting for stock',
  reserved: 'Reserved',
  rejected: 'Not available',
  releasing: 'Returning to stock',
  released: 'Returned to stock',
};

/** The customer of an order from before orders named their customer: an account, never shown by its id. (Whether
 * that account still exists the API does not say, so "Former customer" cannot be told apart yet.) */
export const CUSTOMER_ACCOUNT = 'Customer account';

/** Short enough to read, long enough to tell orders apart (the full id stays in the address). */
export const shortId = (id: string) => id.slice(-8);

/** What people call an order: `#1042`, or for an order placed before numbers the end of its id. */
export const orderName = (o: Pick<Order, 'id' | 'number'>) => (o.number != null ? `#${o.number}` : `…${shortId(o.id)}`);
