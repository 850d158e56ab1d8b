import { describe, expect, it } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import type { Order, OrderEvent, OrderStatus } from '../api/types';
import { ACTION_LABEL, ACTIONS, isFinal, orderActions } from './stateMachine';
import { applyOrderEvent } from './LiveEvents';

// Which transitions are allowed is the server's (`allowed_next`); the client only orders and labels them.
describe('orderActions follows the server', () => {
  it.each([
    [['CONFIRMED', 'CANCELLED'], ['CONFIRMED', 'CANCELLED']],
    [['CANCELLED', 'SHIPPED'], ['SHIPPED', 'CANCELLED']],
    [['CANCELLED'], ['CANCELLED']],
    [['DELIVERED'], ['DELIVERED']],
    [[], []],
  ] as const)('%j → %j', (allowed, buttons) => {
    expect(orderActions({ allowed_next: [...allowed] })).toEqual(buttons);
  });

  it('offers nothing the server did not allow, whatever the status', () => {
    // A SHIPPED order as its owner sees it: not final, yet nothing to do.
    expect(orderActions({ allowed_next: [] })).toEqual([]);
  });

  it('never offers a status only OMS itself sets', () => {
    expect(orderActions({ allowed_next: ['PLACED', 'REJECTED', 'CANCELLED'] })).toEqual(['CANCELLED']);
  });

  it('labels every action', () => {
    for (const a of ACTIONS) expect(ACTION_LABEL[a]).toBeTruthy();
  });

  it('knows the final statuses (for polling only)', () => {
    expect(['DELIVERED', 'CANCELLED', 'REJECTED'].every((s) => isFinal(s as OrderStatus))).toBe(true);
    expect(isFinal('SHIPPED')).toBe(false);
  });
});

describe('a live status event', () => {
  const cached = {
    id: 'o1', user_id: 'u1', status: 'PLACED', items: [], history: [], version: 1, created_at: '', updated_at: '',
    allowed_next: ['CONFIRMED', 'CANCELLED'],
  } as Order;
  const event = (version: number, status: OrderStatus): OrderEvent => ({
    type: 'status', order_id: 'o1', status, from: 'PLACED', by: 'admin', version, at: '',
  });

  it('shows the new status, drops the stale actions and refetches the order', () => {
    const qc = new QueryClient();
    qc.setQueryData(['order', 'o1'], cached);
    applyOrderEvent(qc, event(2, 'CONFIRMED'));
    const state = qc.getQueryState(['order', 'o1']);
    expect(qc.getQueryData<Order>(['order', 'o1'])).toMatchObject({ status: 'CONFIRMED', version: 2, allowed_next: [] });
    expect(state?.isInvalidated).toBe(true);
  });

  it('leaves a newer cached order alone (but still refetches it)', () => {
    const qc = new QueryClient();
    qc.setQueryData(['order', 'o1'], { ...cached, version: 3 });
    applyOrderEvent(qc, event(2, 'CONFIRMED'));
    expect(qc.getQueryData<Order>(['order', 'o1'])).toMatchObject({ status: 'PLACED', allowed_next: ['CONFIRMED', 'CANCELLED'] });
    expect(qc.getQueryState(['order', 'o1'])?.isInvalidated).toBe(true);
  });
});
