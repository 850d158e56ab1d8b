import { describe, expect, it } from 'vitest';
import { orderName, who } from './words';

describe('who', () => {
  const order = { user_id: 'u-owner' };

  it('names people by the name the server gives, and never by id', () => {
    expect(who('u-admin', { id: 'u-other' }, order, 'Grace Hopper')).toBe('Grace Hopper');
    expect(who('u-owner', { id: 'u-admin' }, order, 'Ada Lovelace')).toBe('Ada Lovelace');
  });

  it('says "you" to the person themself, and falls back to roles without a name', () => {
    expect(who('u-owner', { id: 'u-owner' }, order, 'Ada Lovelace')).toBe('you');
    expect(who('u-owner', { id: 'u-admin' }, order, null)).toBe('the customer');
    expect(who('u-admin', { id: 'u-owner' }, order, null)).toBe('an administrator');
    expect(who('system', null)).toBe('OMS');
  });
});

describe('orderName', () => {
  it('is the number when there is one', () => {
    expect(orderName({ id: '0190f5a2-1c3b-7d4e-8f00-0123456789ab', number: 1042 })).toBe('#1042');
    expect(orderName({ id: '0190f5a2-1c3b-7d4e-8f00-0123456789ab', number: null })).toBe('…456789ab');
  });
});
