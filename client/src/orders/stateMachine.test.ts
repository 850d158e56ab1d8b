import { describe, expect, it } from 'vitest';
import { allowedNext, isFinal } from './stateMachine';

// The same table as contracts/src/order.rs (`ALLOWED`), for the roles the client acts as.
describe('allowedNext mirrors the backend state machine', () => {
  it.each([
    ['PENDING', 'owner', ['CANCELLED']],
    ['PENDING', 'admin', ['CANCELLED']],
    ['PLACED', 'owner', ['CANCELLED']],
    ['PLACED', 'admin', ['CONFIRMED', 'CANCELLED']],
    ['CONFIRMED', 'owner', ['CANCELLED']],
    ['CONFIRMED', 'admin', ['SHIPPED', 'CANCELLED']],
    ['SHIPPED', 'owner', []],
    ['SHIPPED', 'admin', ['DELIVERED']],
    ['DELIVERED', 'admin', []],
    ['CANCELLED', 'admin', []],
    ['REJECTED', 'admin', []],
  ] as const)('%s as %s → %j', (from, actor, next) => {
    expect(allowedNext(from, actor)).toEqual(next);
  });

  it('knows the final statuses', () => {
    expect(['DELIVERED', 'CANCELLED', 'REJECTED'].every((s) => isFinal(s as never))).toBe(true);
    expect(isFinal('SHIPPED')).toBe(false);
  });
});
