import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderAt } from './render';
import { DeadLettersPage } from '../pages/ops/DeadLettersPage';
import { VerifyPage } from '../pages/ops/VerifyPage';
import { letterConcerns, letterWhat } from '../pages/ops/letters';
import { UUID } from '../components/reference';
import type { DeadLetter, Order, Product } from '../api/types';
import { sessionStore } from '../api';

const api = vi.hoisted(() => ({ queues: vi.fn(), deadLetters: vi.fn(), replay: vi.fn(), verify: vi.fn(), order: vi.fn(), product: vi.fn() }));
vi.mock('../api', async (orig) => {
  const real = await orig<typeof import('../api')>();
  return {
    ...real,
    ops: { ...real.ops, queues: api.queues, deadLetters: api.deadLetters, replay: api.replay, verify: api.verify },
    orders: { ...real.orders, get: api.order },
    products: { ...real.products, get: api.product },
  };
});

const ORDER = '01890a5d-ac96-774b-bcce-b302099a8057';
const PRODUCT = '01890a5d-ac96-774b-bcce-b302099a8058';
const MESSAGE = '01890a5d-ac96-774b-bcce-b302099a8059';
const OTHER = '01890a5d-ac96-774b-bcce-b302099a8060';
const envelope = (type: string, message: string, payload: object) => ({
  message_id: message, version: 1, correlation_id: ORDER, causation_id: 'x', occurred_at: '2024-01-01T00:00:00Z', type, payload,
});
const reserve: DeadLetter = {
  id: MESSAGE, queue: 'oms.stock.1', reason: 'the store did not answer', attempts: 3, type: 'ReserveStock',
  first_failure_at: '2024-01-01T10:00:00Z', dead_lettered_at: '2024-01-01T10:05:00Z', correlation_id: ORDER,
  body: envelope('ReserveStock', MESSAGE, { order_id: ORDER, product_id: PRODUCT, quantity: 2, reply_to: 'oms.orders.0' }),
};
const broken: DeadLetter = {
  id: OTHER, queue: 'oms.orders.0', reason: 'unparseable', attempts: 1, type: null, correlation_id: null,
  first_failure_at: null, dead_lettered_at: '2024-01-01T11:00:00Z', body: 'not json',
};

/** The page's text as people see it: without what is folded away in a closed <details>. */
function seenText() {
  const copy = document.body.cloneNode(true) as HTMLElement;
  copy.querySelectorAll('details:not([open]) > :not(summary)').forEach((e) => e.remove());
  return copy.textContent ?? '';
}

beforeEach(() => {
  vi.resetAllMocks();
  sessionStore.set({ access: 'a', user: { id: 'a1', email: 'admin@oms.test', name: 'Admin', role: 'admin' } });
  api.queues.mockResolvedValue({ queues: [] });
  api.deadLetters.mockResolvedValue({ items: [reserve, broken] });
  api.order.mockResolvedValue({ id: ORDER, number: 10042 } as Order);
  api.product.mockResolvedValue({ id: PRODUCT, name: 'Oak stool' } as Product);
  api.replay.mockResolvedValue({ replayed: 1, kept: 0 });
});

describe('dead letters', () => {
  it('say what the message was about, by order number and product name, never by id; replay still names the id', async () => {
    renderAt('/ops/dead-letters', { '/ops/dead-letters': <DeadLettersPage /> });
    const letters = await screen.findAllByTestId('dead-letter');
    const first = letters[0];
    expect(await within(first).findByRole('link', { name: 'order #10042' })).toHaveAttribute('href', `/orders/${ORDER}`);
    expect(await within(first).findByRole('link', { name: 'Oak stool' })).toHaveAttribute('href', `/admin/products/${PRODUCT}`);
    expect(first).toHaveTextContent('Reserve stock for an order — order #10042, Oak stool');
    expect(first).toHaveTextContent('the store did not answer');
    expect(first).toHaveTextContent('attempts 3');
    expect(first).toHaveTextContent('oms.stock.1');
    // A message without a body to read: its queue, reason and time, and nothing looked up.
    expect(letters[1]).toHaveTextContent('A message');
    expect(letters[1]).toHaveTextContent('unparseable');
    expect(api.order).toHaveBeenCalledTimes(1);
    expect(api.product).toHaveBeenCalledTimes(1);
    // No id on screen; the message id is copied from a button, and folded under "Message".
    expect(seenText()).not.toMatch(UUID);
    const copy = within(first).getByRole('button', { name: 'Copy reference of this message: Reserve stock for an order' });
    expect(copy).toHaveAttribute('data-reference', MESSAGE);

    await userEvent.click(within(first).getByRole('checkbox', { name: 'Reserve stock for an order — order #10042, Oak stool' }));
    await userEvent.click(screen.getByRole('button', { name: 'Replay selected (1)' }));
    await waitFor(() => expect(api.replay).toHaveBeenCalledWith({ queue: 'oms.stock.1', ids: [MESSAGE] }));
    expect(await screen.findByText('Replayed 1, kept 0.', { selector: 'p' })).toBeInTheDocument();
  });

  it('say so when the order or product is no longer on record', async () => {
    api.order.mockRejectedValue(new Error('404'));
    api.product.mockRejectedValue(new Error('404'));
    renderAt('/ops/dead-letters', { '/ops/dead-letters': <DeadLettersPage /> });
    const [first] = await screen.findAllByTestId('dead-letter');
    await waitFor(() => expect(first).toHaveTextContent('an order no longer on record, a product no longer on record'));
    expect(seenText()).not.toMatch(UUID);
  });
});

describe('a dead letter in words', () => {
  it('reads the envelope’s type and the ids of its payload, and only well-formed ids', () => {
    expect(letterWhat(reserve)).toBe('Reserve stock for an order');
    expect(letterWhat({ type: null, body: { type: 'AdjustStock' } })).toBe('Stock adjustment');
    expect(letterWhat({ type: 'SomethingNew', body: null })).toBe('SomethingNew');
    expect(letterWhat(broken)).toBe('A message');
    expect(letterConcerns(reserve)).toEqual({ orderId: ORDER, productId: PRODUCT, productName: undefined });
    expect(letterConcerns({ body: { payload: { product_id: '../../x', product_name: 'Oak stool' } } }))
      .toEqual({ orderId: undefined, productId: undefined, productName: 'Oak stool' });
    expect(letterConcerns({ body: [1, 2] })).toEqual({ orderId: undefined, productId: undefined, productName: undefined });
  });
});

describe('verify', () => {
  it('names what each violation concerns, the order by number and products by name, never by id', async () => {
    const GONE = '01890a5d-ac96-774b-bcce-b302099a8061';
    api.product.mockImplementation(async (id: string) => {
      if (id === GONE) throw new Error('404');
      return { id, name: 'Oak stool' } as Product;
    });
    api.verify.mockResolvedValue({
      ok: false, checked_at: '2024-01-01T00:00:00Z', took_ms: 12, products_checked: 2, orders_checked: 1, orders_in_flight: 0,
      checks: [],
      violations: [
        { kind: 'missing_reservation', subject: ORDER, detail: `PLACED order holds 0 of product ${PRODUCT} instead of 2` },
        { kind: 'stock_ledger_mismatch', subject: GONE, detail: 'ledger entries sum to 3 for a product that does not exist' },
      ],
    });
    renderAt('/ops/verify', { '/ops/verify': <VerifyPage /> });
    const [order, gone] = await screen.findAllByRole('listitem');
    await waitFor(() => expect(order).toHaveTextContent('missing_reservation order #10042: PLACED order holds 0 of product Oak stool instead of 2'));
    expect(within(order).getByRole('link', { name: 'order #10042' })).toHaveAttribute('href', `/orders/${ORDER}`);
    expect(within(order).getByRole('link', { name: 'Oak stool' })).toHaveAttribute('href', `/admin/products/${PRODUCT}`);
    await waitFor(() => expect(gone).toHaveTextContent('stock_ledger_mismatch a product no longer on record: ledger entries'));
    expect(within(gone).getByRole('button', { name: /^Copy reference/ })).toHaveAttribute('data-reference', GONE);
    expect(seenText()).not.toMatch(UUID);
  });
});
