import { describe, expect, it } from 'vitest';
import type { AnalyticsSummary } from '../../../api/types';
import { formatDuration, formatPercent, headline } from './figures';
import { paramsOf, rangeFromParams } from './range';

const summary = (placed: number, cancelled: number, amount: number) =>
  ({ totals: { placed, cancelled, rejected: 0, delivered: 0, revenue: { amount, currency: 'USD' }, revenue_by_currency: [] } }) as unknown as AnalyticsSummary;

describe('headline figures', () => {
  it('derive the average order value and the cancellation rate', () => {
    const h = headline(summary(4, 1, 1001));
    expect(h.orders).toBe(4);
    expect(h.averageOrderValue).toEqual({ amount: 250, currency: 'USD' });
    expect(h.cancellationRate).toBe(0.25);
    expect(formatPercent(h.cancellationRate)).toBe('25.0%');
  });
  it('have no average or rate without orders', () => {
    const h = headline(summary(0, 0, 0));
    expect(h.averageOrderValue).toBeNull();
    expect(formatPercent(h.cancellationRate)).toBe('—');
  });
});

describe('durations', () => {
  it('read at a glance', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(12 * 60_000)).toBe('12 min');
    expect(formatDuration(3.5 * 3_600_000)).toBe('3.5 h');
    expect(formatDuration(3 * 86_400_000)).toBe('3.0 days');
  });
});

describe('the range in the URL', () => {
  const now = new Date(2026, 2, 10, 15, 30);
  it('is today unless it says otherwise', () => {
    const r = rangeFromParams(new URLSearchParams(''), now);
    expect(r.kind).toBe('today');
    expect(r.from).toBe(new Date(2026, 2, 10).toISOString());
    expect(r.to).toBeUndefined();
  });
  it('covers whole days back from today', () => {
    expect(rangeFromParams(new URLSearchParams('range=7d'), now).from).toBe(new Date(2026, 2, 4).toISOString());
    expect(rangeFromParams(new URLSearchParams('range=30d'), now).fromDay).toBe('2026-02-09');
  });
  it('includes a custom range\'s last day', () => {
    const r = rangeFromParams(new URLSearchParams('range=custom&from=2026-03-01&to=2026-03-02'), now);
    expect([r.from, r.to]).toEqual([new Date(2026, 2, 1).toISOString(), new Date(2026, 2, 3).toISOString()]);
    expect(paramsOf('custom', r.fromDay, r.toDay)).toEqual({ range: 'custom', from: '2026-03-01', to: '2026-03-02' });
    expect(paramsOf('7d')).toEqual({ range: '7d' });
  });
});
