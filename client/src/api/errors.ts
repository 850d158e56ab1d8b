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

/**
 * What each error code means for the person in front of the page: every code the server sends (errors.test.ts
 * checks the list against api/src), and the client's own (`network_error`, `http_error`). A code whose answer names
 * fields (`validation_failed`, `invalid_body`, `invalid_query`, `unknown_field`) is described by its fields when it
 * names any; its sentence here is for when it names none.
 */
const SENTENCES: Record<string, string> = {
  // The client's own.
  network_error: 'Could not reach the shop. Check your connection and try again.',
  http_error: 'Something went wrong on our side. Try again.',
  // The server's.
  service_unavailable: 'Part of the shop is down for a moment. Nothing was changed: try again shortly.',
  internal_error: 'Something went wrong on our side. Nothing was changed: try again.',
  rate_limited: 'Too many attempts. Wait a few minutes, then try again.',
  malformed_request: 'The shop could not read what this page sent. Reload the page and try again.',
  method_not_allowed: 'This page asked for something the shop does not do. Reload the page and try again.',
  validation_failed: 'Some of what you entered needs a fix. Check the form and try again.',
  invalid_body: 'Some of what you entered could not be read. Check the form and try again.',
  invalid_query: 'This search or filter cannot be used. Check what you entered, or clear it and try again.',
  unknown_field: 'This page sent something the shop does not expect. Reload the page and try again.',
  invalid_credentials: 'The e-mail address or password is wrong.',
  email_taken: 'An account with this e-mail address already exists. Sign in instead.',
  sku_taken: 'Another product already has this SKU.',
  forbidden: 'Only administrators can do this.',
  not_found: 'This no longer exists, or it is not yours to see.',
  invalid_transition: 'This order cannot make that step now: it has moved on meanwhile. The page shows where it stands.',
  idempotency_key_reused: 'This checkout was already sent with other items. Reload the cart and try again.',
  invalid_idempotency_key: 'This checkout could not be sent safely. Reload the cart and place the order again.',
  payload_too_large: 'The file is too large: images can be at most 5 MB.',
  unsupported_media_type: 'Choose a PNG, JPEG or WebP image.',
  invalid_image: 'This image cannot be read: the file is damaged or incomplete. Choose another.',
  image_changed: 'The product\'s image changed meanwhile, perhaps in another tab. Reload the page and try again.',
  nothing_to_retry: 'There is no upload left to retry: the image may be ready already. Reload the page, or choose a new image.',
  unsafe_url: 'Webhooks can go only to a public https:// address. Check the endpoint URL.',
  concurrent_change: 'This was changed meanwhile, perhaps in another tab. Reload the page and try again.',
  invalid_range: 'Choose a start day before the end day, at most 366 days apart.',
  unauthenticated: 'Sign in to do this.',
  invalid_token: 'Your session has ended. Sign in again.',
  token_expired: 'Your session has ended. Sign in again.',
  invalid_refresh_token: 'Your session has ended. Sign in again.',
  refresh_token_reused: 'Your session was ended for safety. Sign in again.',
  cross_site_refresh: 'Your session can be resumed only from the shop\'s own pages. Open the shop and sign in again.',
  // The client's own, with its own message (the stock form's check before it sends).
  below_zero: '',
};

/** Codes whose answer is about the fields it names: their messages say what is wrong with each. */
const FIELD_CODES = new Set(['validation_failed', 'invalid_body', 'invalid_query', 'unknown_field']);

/** A field's message for a code that is about more than fields, when the message says something more precise. */
function specific(code: string, m: string): string | undefined {
  let match: RegExpMatchArray | null;
  if (code === 'unsafe_url') {
    if (/^(is not an absolute URL|must name a host)$/.test(m)) return 'Enter a whole address, like https://example.com/webhooks.';
    if (m === 'must start with https://') return 'Use an address that starts with https://.';
    if (m.startsWith('must not contain a user name')) return 'Take the user name and password out of the address.';
    if (m.startsWith('resolves to ')) return 'This address leads to a private network or this server: webhooks go only to public servers.';
    if (m.startsWith('does not resolve')) return 'No server answers to this address. Check it for typing mistakes.';
    if ((match = m.match(/^must be at most (\d+) characters$/))) return `Use at most ${match[1]} characters.`;
  }
  if (code === 'invalid_range') {
    if (/^must be before/.test(m)) return 'Choose a start day before the end day.';
    if ((match = m.match(/^a range covers at most (\d+) days/))) return `Choose a range of at most ${match[1]} days.`;
    if ((match = m.match(/^hourly buckets cover at most (\d+) days/))) {
      return `Figures by the hour cover at most ${match[1]} days: choose a shorter range, or show it by day.`;
    }
  }
  return undefined;
}

/** Names of fields, for sentences like "Name is required." */
const LABELS: Record<string, string> = {
  name: 'Name', email: 'E-mail', password: 'Password', sku: 'SKU', price: 'Price', currency: 'Currency',
  stock: 'Initial stock', delta: 'Change', reason: 'Reason', description: 'Description',
  low_stock_threshold: 'Low-stock threshold', quantity: 'Quantity', image: 'Image', queue: 'Queue',
  url: 'Endpoint URL', events: 'Events', from: 'From', to: 'To',
};

const sentence = (text: string) => {
  const t = text.trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
};

/** One invalid field's message, in a sentence for people. */
export function describeField(d: Pick<FieldError, 'field' | 'code' | 'message'>): string {
  const m = d.message.trim();
  if (!FIELD_CODES.has(d.code)) {
    const said = specific(d.code, m) ?? SENTENCES[d.code];
    if (said) return said;
  }
  // About the whole request rather than one of its fields (e.g. a body that is not a JSON object).
  if (!d.field && SENTENCES[d.code]) return SENTENCES[d.code];
  const leaf = d.field.split('.').pop()!.replace(/\[\d+\]$/, '');
  const label = LABELS[leaf] ?? sentence(leaf.replace(/_/g, ' ')).replace(/\.$/, '');
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
  const details = fieldErrors(e);
  if (details.length > 1) return 'Some fields need a fix: see the messages beside them.';
  // One field: its own sentence (the code's, or what its message says more precisely).
  if (details.length === 1) return describeField(details[0]);
  return SENTENCES[e.code] || sentence(e.message);
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
