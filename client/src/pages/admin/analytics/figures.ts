// The analytics page's derived figures, as pure functions of the summary.
import type { AnalyticsSummary, Money } from '../../../api/types';

export interface Headline {
  orders: number;
  revenue: Money;
  /** Revenue per placed order, rounded to the minor unit; null without orders. */
  averageOrderValue: Money | null;
  /** Cancelled per placed order (0..1, can exceed 1 when earlier orders are cancelled in the range); null without orders. */
  cancellationRate: number | null;
}

export function headline(s: AnalyticsSummary): Headline {
  const { placed, cancelled, revenue } = s.totals;
  return {
    orders: placed,
    revenue,
    averageOrderValue: placed > 0 ? { amount: Math.round(revenue.amount / placed), currency: revenue.currency } : null,
    cancellationRate: placed > 0 ? cancelled / placed : null,
  };
}

export function formatPercent(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** A duration in words people read at a glance: `850 ms`, `4.2 s`, `12 min`, `3.5 h`, `2.1 days`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const min = s / 60;
  if (min < 60) return `${Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} days`;
}

/** A bucket's label on the chart's axis and in the table. */
export function bucketLabel(start: string, bucket: string): string {
  const d = new Date(start);
  return bucket === 'hour'
    ? d.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false })
    : d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
}
