// Turns any failure into sentences for people: the API's error envelope (`code`, `field`, and `details`
// listing every invalid field) mapped to what to do, each field's message put beside its field.
import axios from 'axios';
import type { ErrorDetail, FieldError } from './types';

export interface ApiError extends ErrorDetail {
  status?: number;
}

export function toApiError(err: unknown): ApiError {
  if (axios.isAxiosError(err)) {
    const body = err.response?.data as { error?: ErrorDetail } | undefined;
    if (body?.error?.code) return { ...body.error, status: err.response?.status };
    if (err.response) {
      return { code: 'http_error', message: `The server answered ${err.response.status}.`, status: err.response.status };
    }
    return { code: 'network_error', message: 'Could not reach the server.' };
  }
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) return err as ApiError;
  return { code: 'unknown', message: err instanceof Error ? err.message : 'Something went wrong.' };
}

/** What each error code means for the person in front of the page. */
const SENTENCES: Record<string, string> = {
  network_error: 'Could not reach the shop. Check your connection and try again.',
  service_unavailable: 'Part of the shop is down for a moment. Nothing was changed: try again shortly.',
  internal_error: 'Something went wrong on our side. Nothing was changed: try again.',
  http_error: 'Something went wrong on our side. Try again.',
  rate_limited: 'Too many attempts. Wait a few minutes, then try again.',
  invalid_credentials: 'The e-mail address or password is wrong.',
  email_taken: 'An account with this e-mail address already exists. Sign in instead.',
  sku_taken: 'Another product already has this SKU.',
  forbidden: 'Only administrators can do this.',
  not_found: 'This no longer exists, or it is not yours to see.',
  invalid_transition: 'This order cannot make that step now: it has moved on meanwhile. The page shows where it stands.',
  idempotency_key_reused: 'This checkout was already sent with other items. Reload the cart and try again.',
  payload_too_large: 'The file is too large: images can be at most 5 MB.',
  unsupported_media_type: 'Choose a PNG, JPEG or WebP image.',
  invalid_image: 'This image cannot be read: the file is damaged or incomplete. Choose another.',
  unauthenticated: 'Sign in to do this.',
  invalid_token: 'Your session has ended. Sign in again.',
  token_expired: 'Your session has ended. Sign in again.',
  invalid_refresh_token: 'Your session has ended. Sign in again.',
  refresh_token_reused: 'Your session was ended for safety. Sign in again.',
  below_zero: '',
};

/** Names of fields, for sentences like "Name is required." */
const LABELS: Record<string, string> = {
  name: 'Name', email: 'E-mail', password: 'Password', sku: 'SKU', price: 'Price', currency: 'Currency',
  stock: 'Initial stock', delta: 'Change', reason: 'Reason', description: 'Description',
  low_stock_threshold: 'Low-stock threshold', quantity: 'Quantity', image: 'Image', queue: 'Queue',
};

const sentence = (text: string) => {
  const t = text.trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
};

/** One invalid field's message, in a sentence for people. */
export function describeField(d: Pick<FieldError, 'field' | 'code' | 'message'>): string {
  if (d.code !== 'validation_failed' && d.code !== 'invalid_body' && d.code !== 'invalid_query' && SENTENCES[d.code]) {
    return SENTENCES[d.code];
  }
  const leaf = d.field.split('.').pop()!.replace(/\[\d+\]$/, '');
  const label = LABELS[leaf] ?? sentence(leaf.replace(/_/g, ' ')).replace(/\.$/, '');
  const m = d.message.trim();
  let match: RegExpMatchArray | null;
  if (/^(must not be empty|is required)$/.test(m)) return `${label} is required.`;
  if (leaf === 'email') return 'Enter an e-mail address like ada@example.com.';
  // The orders' search box: an order number or a customer's e-mail address.
  if (leaf === 'customer') return 'Enter a whole e-mail address, like ada@example.com.';
  if (leaf === 'number') return 'Enter an order number, like #1042.';
  if (leaf === 'currency') return 'Use a three-letter currency code such as USD or EUR.';
  if (leaf === 'sku' && m.startsWith('may contain only')) return 'Use only letters, digits, “-”, “_” and “.” (no spaces).';
  if (leaf === 'delta' && m === 'must not be zero') return 'Enter a change other than 0.';
  if ((match = m.match(/^must be at least (\d+) characters$/))) return `Use at least ${match[1]} characters.`;
  if ((match = m.match(/^must be at most (\d+) characters$/))) return `Use at most ${match[1]} characters.`;
  if ((match = m.match(/^must be between (-?\d+) and (-?\d+)$/))) return `Enter a whole number from ${match[1]} to ${match[2]}.`;
  if (m === 'must be a whole number') return 'Enter a whole number.';
  if (/^must be a whole number of minor units/.test(m)) return 'Enter a price from 0 to 10,000,000.';
  if (m === 'is not a field of this request' || m === 'is not a product field') return `${label} is not expected here.`;
  if (m === 'is given more than once') return `${label} was sent twice.`;
  return sentence(m);
}

/** The whole error in one sentence, for a message above a form or a toast. */
export function describeError(err: unknown): string {
  const e = toApiError(err);
  const known = SENTENCES[e.code];
  if (known) return known;
  const details = fieldErrors(e);
  if (details.length > 0) {
    return details.length === 1 ? describeField(details[0]) : 'Some fields need a fix: see the messages beside them.';
  }
  return sentence(e.message);
}

/** Every invalid field the error names (its `details`, or its one `field`). */
export function fieldErrors(err: unknown): FieldError[] {
  if (!err) return [];
  const e = toApiError(err);
  if (e.details && e.details.length > 0) return e.details;
  // An older answer without details: its message starts with the field's path.
  const message = e.field && e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
  return e.field ? [{ field: e.field, code: e.code, message }] : [];
}

const under = (path: string, field: string) =>
  path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);

/** The sentence for `field` when the error names it (`items[0].quantity` is under `items[0]`), else undefined. */
export function fieldError(err: unknown, field: string): string | undefined {
  const d = fieldErrors(err).find((x) => under(x.field, field));
  return d ? describeField(d) : undefined;
}

/**
 * The sentence to show above a form: undefined when every field the error names is one of `known` (each
 * message is then beside its field), else the whole error described.
 */
export function formError(err: unknown, known: string[] = []): string | undefined {
  if (!err) return undefined;
  const fields = fieldErrors(err);
  if (fields.length > 0 && fields.every((d) => known.some((k) => under(d.field, k)))) return undefined;
  return describeError(err);
}
