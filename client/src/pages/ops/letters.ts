// A dead letter in words: what the message asked for, and the order and product it concerns (read from its body, the
// envelope of contracts/src/messages.rs: `{message_id, correlation_id, type, payload: {...}}`), so that the page can
// name them (`#1042`, a product's name) rather than show ids.
import type { DeadLetter } from '../../api/types';
import { UUID } from '../../components/reference';

/** What each message type of contracts/src/messages.rs asks for or says, in words. */
const WORDS: Record<string, string> = {
  PlaceOrder: 'Place an order',
  ReserveStock: 'Reserve stock for an order',
  ReleaseStock: 'Return an order’s stock',
  AdjustStock: 'Stock adjustment',
  CancelOrder: 'Cancel an order',
  TransitionOrder: 'Change an order’s status',
  AbandonOrder: 'Give up on an order',
  StockReserved: 'Stock reserved for an order',
  StockRejected: 'Stock refused to an order',
  StockReleased: 'Stock returned from an order',
  UploadProductImage: 'Process a product image',
  OrderStatusChanged: 'An order’s status changed',
  OrderTransitionRefused: 'An order’s status change was refused',
  StockAdjusted: 'Stock adjusted',
  StockAdjustmentRefused: 'Stock adjustment refused',
  StockLow: 'Stock running low',
  ProductImageReady: 'Product image ready',
  ProductImageFailed: 'Product image failed',
};

/** The message's type in words (its own name when it has no words here), or "A message" without one. */
export function letterWhat(d: Pick<DeadLetter, 'type' | 'body'>): string {
  const type = d.type ?? field(d.body, 'type');
  if (!type) return 'A message';
  return WORDS[type] ?? type;
}

/** The order and product a dead letter's payload names (only well-formed ids: others are never looked up). */
export function letterConcerns(d: Pick<DeadLetter, 'body'>): { orderId?: string; productId?: string; productName?: string } {
  const payload = record(record(d.body)?.payload);
  const id = (key: string) => {
    const v = field(payload, key);
    return v && new RegExp(`^${UUID.source}$`, 'i').test(v) ? v : undefined;
  };
  return { orderId: id('order_id'), productId: id('product_id'), productName: field(payload, 'product_name') ?? undefined };
}

/** The key of a dead letter on the page: its message id within its queue (the same id may die in two queues). */
export const letterKey = (d: Pick<DeadLetter, 'queue' | 'id'>) => `${d.queue}\u0000${d.id}`;

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function field(v: unknown, key: string): string | undefined {
  const f = record(v)?.[key];
  return typeof f === 'string' && f !== '' ? f : undefined;
}
