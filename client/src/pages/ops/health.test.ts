import { describe, expect, it } from 'vitest';
import { growing, problems } from './health';
import type { QueueView } from '../../api/types';

const queue = (name: string, over: Partial<QueueView> = {}): QueueView => ({
  name, kind: 'stock', partition: 0, ready: 0, unacknowledged: 0, consumers: 1, single_active_consumer: true,
  active_consumer: 'w1', publish_rate: null, deliver_rate: null, dead_letter_queue: `${name}.dlq`, dead_letters: 0, ...over,
} as QueueView);

describe('operator health', () => {
  it('finds nothing wrong in a healthy system', () => {
    expect(problems([queue('oms.stock.0'), queue('oms.orders.0')], new Map(), { ok: true, violations: [] } as never)).toEqual([]);
  });
  it('names dead letters, queues without consumers, growing backlogs and a failed check', () => {
    const found = problems(
      [queue('oms.stock.0', { dead_letters: 2 }), queue('oms.orders.1', { consumers: 0 }), queue('oms.images')],
      new Map([['oms.images', [1, 5, 9, 20, 40]]]),
      { ok: false, violations: [{ kind: 'negative_stock', subject: 'p', detail: 'd' }] } as never,
    );
    expect(found.map((p) => p.key)).toEqual(['dead', 'consumers', 'backlog', 'verify']);
    expect(found[0].text).toContain('2 dead letters in oms.stock.0');
    expect(found[1].text).toContain('oms.orders.1');
  });
  it('calls a backlog growing only when it rose every sample and is not tiny', () => {
    expect(growing([1, 2, 3, 4, 5])).toBe(false);
    expect(growing([10, 20, 30, 40, 50])).toBe(true);
    expect(growing([10, 20, 15, 40, 50])).toBe(false);
  });
});
