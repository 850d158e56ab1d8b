// The app's one API client and the calls the pages make; every type comes from the OpenAPI document.
import type { AxiosProgressEvent } from 'axios';
import { createApi } from './client';
import { createSessionStore, type StoredSession } from './tokens';
import type * as T from './types';

export const sessionStore = createSessionStore();
export const api = createApi(sessionStore);
const http = api.http;

type Query = Record<string, string | number | boolean | undefined>;
const clean = (q: Query) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== ''));

// The browser's sessions keep their refresh token in an HttpOnly cookie (see tokens.ts).
export const auth = {
  login: (body: T.LoginIn) =>
    http.post<T.Session>('/api/auth/login', { ...body, refresh_token_in: 'cookie' }).then((r) => r.data),
  register: (body: T.RegisterIn) =>
    http.post<T.Session>('/api/auth/register', { ...body, refresh_token_in: 'cookie' }).then((r) => r.data),
  logout: (session: StoredSession) => api.signOut(session),
  me: () => http.get<T.User>('/api/auth/me').then((r) => r.data),
};

export const products = {
  list: (q: {
    q?: string; page?: number; per_page?: number; cursor?: string; in_stock?: boolean; include_inactive?: boolean;
    sort?: T.ProductSort;
  }) =>
    http.get<T.ProductPage>('/api/products', { params: clean(q) }).then((r) => r.data),
  get: (id: string) => http.get<T.Product>(`/api/products/${id}`).then((r) => r.data),
  create: (form: FormData, onProgress?: (fraction: number) => void) =>
    http
      .post<T.Product>('/api/products', form, { onUploadProgress: progress(onProgress) })
      .then((r) => r.data),
  replaceImage: (id: string, image: File | null, onProgress?: (fraction: number) => void) => {
    const form = new FormData();
    if (image) form.append('image', image);
    return http
      .post<T.Product>(`/api/products/${id}/image`, form, { onUploadProgress: progress(onProgress) })
      .then((r) => r.data);
  },
  patch: (id: string, body: T.ProductPatch) => http.patch<T.Product>(`/api/products/${id}`, body).then((r) => r.data),
  adjustStock: (id: string, body: T.StockIn) =>
    http.post<T.AdjustmentOut>(`/api/products/${id}/stock`, body).then((r) => r.data),
  /** Where an adjustment stands: pending until the stock worker decides, then applied or refused (with why). */
  adjustment: (id: string, adjustmentId: string) =>
    http
      .get<T.AdjustmentStatusOut>(`/api/products/${id}/stock/${encodeURIComponent(adjustmentId)}`)
      .then((r) => r.data),
  /** A page of the product's stock ledger, newest first: the first, or the one `cursor` (a `next_cursor`) starts. */
  ledger: (id: string, q: { cursor?: string; per_page?: number } = {}) =>
    http.get<T.LedgerPage>(`/api/products/${id}/ledger`, { params: clean(q) }).then((r) => r.data),
};

export const orders = {
  place: (body: T.OrderIn, idempotencyKey: string) =>
    http.post<T.Order>('/api/orders', body, { headers: { 'Idempotency-Key': idempotencyKey } }).then((r) => r.data),
  /** A page of orders, newest first: the caller's own, or (admins) everyone's; `number` finds one order by its number,
   * `customer` (admins) one customer's by e-mail address, in any case. */
  list: (q: Omit<T.OrderQuery, 'page'>) =>
    http.get<T.OrderPage>('/api/orders', { params: clean(q) }).then((r) => r.data),
  get: (id: string) => http.get<T.Order>(`/api/orders/${id}`).then((r) => r.data),
  cancel: (id: string) => http.post(`/api/orders/${id}/cancel`).then((r) => r.data),
  transition: (id: string, body: T.StatusIn) => http.post(`/api/orders/${id}/status`, body).then((r) => r.data),
};

export const ops = {
  queues: () => http.get<T.QueuesReport>('/api/ops/queues').then((r) => r.data),
  /** The dead letters of `queue`, or of every queue. */
  deadLetters: (queue?: string) =>
    http.get<T.DeadLettersOut>('/api/ops/dead-letters', { params: clean({ queue }) }).then((r) => r.data),
  replay: (body: T.ReplayIn) => http.post<T.Replayed>('/api/ops/dead-letters/replay', body).then((r) => r.data),
  verify: () => http.get<T.VerifyReport>('/api/ops/verify').then((r) => r.data),
};

export const analytics = {
  /** The analytics of a range (`to` absent: until now). */
  summary: (q: { from: string; to?: string }) =>
    http.get<T.AnalyticsSummary>('/api/analytics/summary', { params: clean(q) }).then((r) => r.data),
  /** The range's buckets as CSV text. */
  exportCsv: (q: { from: string; to?: string }) =>
    http
      .get<string>('/api/analytics/export.csv', { params: clean(q), responseType: 'text' })
      .then((r) => r.data),
};

export const notifications = {
  /** A page of the caller's notifications, newest first: the first, or the one `cursor` (a `next_cursor`) starts.
   * Each page also says how many of the caller's are unread, whatever the filter (`unread`, for the bell). */
  list: (q: Omit<T.NotificationQuery, 'page'> = {}) =>
    http.get<T.NotificationPage>('/api/notifications', { params: clean(q) }).then((r) => r.data),
  markRead: (body: T.ReadIn) => http.post('/api/notifications/read', body).then(() => undefined),
};

export const webhooks = {
  list: () => http.get<T.Webhook[]>('/api/webhooks').then((r) => r.data),
  get: (id: string) => http.get<T.Webhook>(`/api/webhooks/${id}`).then((r) => r.data),
  create: (body: T.WebhookIn) => http.post<T.WebhookCreated>('/api/webhooks', body).then((r) => r.data),
  patch: (id: string, body: T.WebhookPatch) => http.patch<T.Webhook>(`/api/webhooks/${id}`, body).then((r) => r.data),
  remove: (id: string) => http.delete(`/api/webhooks/${id}`).then(() => undefined),
  rotate: (id: string) => http.post<T.SecretOut>(`/api/webhooks/${id}/rotate-secret`).then((r) => r.data),
  /** A page of the endpoint's deliveries, newest first: the first, or the one `cursor` (a `next_cursor`) starts. */
  deliveries: (id: string, q: Omit<T.DeliveryQuery, 'page'> = {}) =>
    http.get<T.DeliveryPage>(`/api/webhooks/${id}/deliveries`, { params: clean(q) }).then((r) => r.data),
  retry: (id: string, deliveryId: string) =>
    http.post(`/api/webhooks/${id}/deliveries/${deliveryId}/retry`).then(() => undefined),
};

function progress(onProgress?: (fraction: number) => void) {
  return onProgress
    ? (e: AxiosProgressEvent) => onProgress(e.total ? e.loaded / e.total : 0)
    : undefined;
}
