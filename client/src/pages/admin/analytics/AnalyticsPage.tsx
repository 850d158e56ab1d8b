// /admin/analytics: the figures of a range (today, 7 or 30 days, or chosen days, kept in the URL) from the analytics
// read model: headline numbers, orders and revenue over time (a chart, or the same numbers as a table), best sellers,
// products running low, lead times and cancellation reasons. Refreshed when order events arrive.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { analytics } from '../../../api';
import type { AnalyticsSummary } from '../../../api/types';
import { DataTable } from '../../../components/DataTable';
import { PageHeading } from '../../../components/page';
import { Button, Empty, ErrorBox, Loading, Money } from '../../../components/ui';
import { useOrderEventListener } from '../../../orders/LiveEvents';
import { bucketLabel, formatDuration, formatPercent, headline } from './figures';
import { RANGE_CHOICES, paramsOf, rangeFromParams, type RangeKind } from './range';
import { TimeSeriesChart } from './TimeSeriesChart';

/** The projection applies an event a moment after the API publishes it: refresh a little later, once per burst. */
const REFRESH_DELAY_MS = 700;

function Figure({ label, value, testId }: { label: string; value: React.ReactNode; testId: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4">
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="text-2xl font-semibold" data-testid={testId}>{value}</dd>
    </div>
  );
}

function Panel({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="space-y-2 rounded-lg border border-slate-200 bg-white p-4" aria-label={title}>
      <h2 className="font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function RangePicker() {
  const [params, setParams] = useSearchParams();
  const range = rangeFromParams(params);
  const [fromDay, setFromDay] = useState(range.fromDay);
  const [toDay, setToDay] = useState(range.toDay);
  const choose = (kind: RangeKind) => setParams(paramsOf(kind, fromDay, toDay));
  return (
    <div className="flex flex-wrap items-end gap-2">
      <div role="group" aria-label="Range" className="flex flex-wrap gap-1">
        {RANGE_CHOICES.map((c) => (
          <button key={c.kind} type="button" aria-pressed={range.kind === c.kind} onClick={() => choose(c.kind)}
            className={`rounded-md border px-3 py-1 text-sm ${range.kind === c.kind ? 'border-indigo-700 bg-indigo-700 font-semibold text-white' : 'border-slate-300 bg-white text-slate-800 hover:bg-slate-100'}`}>
            {c.label}
          </button>
        ))}
      </div>
      {range.kind === 'custom' && (
        <form className="flex flex-wrap items-end gap-2" aria-label="Custom range"
          onSubmit={(e) => { e.preventDefault(); setParams(paramsOf('custom', fromDay, toDay)); }}>
          <label className="text-sm">From
            <input type="date" className="ml-1 rounded border border-slate-300 px-2 py-1" value={fromDay} onChange={(e) => setFromDay(e.target.value)} />
          </label>
          <label className="text-sm">To
            <input type="date" className="ml-1 rounded border border-slate-300 px-2 py-1" value={toDay} onChange={(e) => setToDay(e.target.value)} />
          </label>
          <Button type="submit" variant="secondary">Show</Button>
        </form>
      )}
    </div>
  );
}

function BucketTable({ summary }: { summary: AnalyticsSummary }) {
  return (
    <DataTable label="Orders and revenue per bucket" rows={summary.buckets} rowKey={(b) => b.start}
      columns={[
        { header: summary.bucket === 'hour' ? 'Hour' : 'Day', primary: true, cell: (b) => bucketLabel(b.start, summary.bucket) },
        { header: 'Placed', cell: (b) => b.placed },
        { header: 'Cancelled', cell: (b) => b.cancelled },
        { header: 'Rejected', cell: (b) => b.rejected },
        { header: 'Delivered', cell: (b) => b.delivered },
        { header: 'Revenue', cell: (b) => <Money value={b.revenue} /> },
      ]} />
  );
}

async function download(range: { from: string; to?: string }) {
  const text = await analytics.exportCsv(range);
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'oms-analytics.csv';
  a.click();
  URL.revokeObjectURL(url);
}

export function AnalyticsPage() {
  const [params] = useSearchParams();
  const range = rangeFromParams(params);
  const query = { from: range.from, to: range.to };
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['analytics', query.from, query.to ?? 'now'],
    queryFn: () => analytics.summary(query),
    refetchInterval: 60_000,
  });
  const [asTable, setAsTable] = useState(false);

  // Live: an order event makes the page ask again shortly after (one refresh per burst of events).
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onEvent = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      void qc.invalidateQueries({ queryKey: ['analytics'] });
    }, REFRESH_DELAY_MS);
  }, [qc]);
  useOrderEventListener(onEvent);
  useEffect(() => () => clearTimeout(timer.current), []);

  const s = q.data;
  const h = s && headline(s);
  return (
    <section className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <PageHeading title="Analytics" />
        <RangePicker />
      </div>
      {q.isPending ? <Loading label="Loading the figures…" /> : q.isError ? <ErrorBox error={q.error} /> : s && h && (
        <>
          <p className="text-sm text-slate-600" data-testid="analytics-range">
            {bucketLabel(s.from, 'hour')} to {bucketLabel(s.to, 'hour')}, by {s.bucket}
            {q.isFetching ? ' · refreshing…' : ''}
          </p>
          <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <Figure label="Orders placed" value={h.orders} testId="figure-orders" />
            <Figure label="Revenue" value={<Money value={h.revenue} />} testId="figure-revenue" />
            <Figure label="Average order value" value={h.averageOrderValue ? <Money value={h.averageOrderValue} /> : '—'} testId="figure-aov" />
            <Figure label="Cancellation rate" value={formatPercent(h.cancellationRate)} testId="figure-cancellation-rate" />
          </dl>
          {s.totals.revenue_by_currency.length > 1 && (
            <p className="text-sm">Revenue by currency: {s.totals.revenue_by_currency.map((m) => <span key={m.currency} className="mr-2"><Money value={m} /></span>)}</p>
          )}
          <Panel title="Orders and revenue over time">
            <div className="flex justify-end">
              <Button variant="secondary" aria-pressed={asTable} onClick={() => setAsTable((t) => !t)}>
                {asTable ? 'Show chart' : 'Show table'}
              </Button>
            </div>
            {asTable ? <BucketTable summary={s} /> : <TimeSeriesChart summary={s} />}
          </Panel>
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
            <Panel title="Top products">
              {s.top_products.length === 0 ? <Empty>No orders placed in this range.</Empty> : (
                <DataTable label="Top products" rows={s.top_products} rowKey={(p) => p.product_id}
                  columns={[
                    { header: 'Product', primary: true, cell: (p) => <Link className="text-indigo-700 underline" to={`/admin/products/${p.product_id}`}>{p.name}</Link> },
                    { header: 'Units', cell: (p) => p.units },
                    { header: 'Revenue', cell: (p) => <Money value={p.revenue} /> },
                  ]} />
              )}
            </Panel>
            <Panel title="Running low">
              {s.low_stock.length === 0 ? <p className="text-sm text-slate-600">Nothing is low on stock.</p> : (
                <ul className="space-y-1 text-sm" aria-label="Products running low">
                  {s.low_stock.map((p) => (
                    <li key={p.product_id} className="flex flex-wrap justify-between gap-2">
                      <Link className="text-indigo-700 underline" to={`/admin/products/${p.product_id}`}>{p.name}</Link>
                      <span>{p.stock} left (alert at {p.threshold})</span>
                    </li>
                  ))}
                </ul>
              )}
            </Panel>
            <Panel title="Lead times">
              <table className="w-full text-left text-sm" aria-label="Lead times">
                <thead><tr><th scope="col">Stage (orders)</th><th scope="col">Median</th><th scope="col">90th percentile</th></tr></thead>
                <tbody>
                  <tr>
                    <th scope="row" className="font-normal">Placed to shipped ({s.lead_times_ms.placed_to_shipped.samples})</th>
                    <td data-testid="lead-placed-shipped-p50">{formatDuration(s.lead_times_ms.placed_to_shipped.p50)}</td>
                    <td>{formatDuration(s.lead_times_ms.placed_to_shipped.p90)}</td>
                  </tr>
                  <tr>
                    <th scope="row" className="font-normal">Shipped to delivered ({s.lead_times_ms.shipped_to_delivered.samples})</th>
                    <td data-testid="lead-shipped-delivered-p50">{formatDuration(s.lead_times_ms.shipped_to_delivered.p50)}</td>
                    <td>{formatDuration(s.lead_times_ms.shipped_to_delivered.p90)}</td>
                  </tr>
                </tbody>
              </table>
            </Panel>
            <Panel title="Cancellation reasons">
              {s.cancellation_reasons.length === 0 ? <p className="text-sm text-slate-600">No cancellations in this range.</p> : (
                <ul className="space-y-1 text-sm" aria-label="Cancellation reasons">
                  {s.cancellation_reasons.map((r) => (
                    <li key={r.reason} className="flex justify-between gap-2"><span className="break-words">{r.reason}</span><span>{r.count}</span></li>
                  ))}
                </ul>
              )}
            </Panel>
          </div>
          <Panel title="Orders by status (all time)">
            <ul className="flex flex-wrap gap-3 text-sm" aria-label="Orders by status">
              {Object.entries(s.orders_by_status).map(([status, n]) => <li key={status}>{status}: <b>{n}</b></li>)}
            </ul>
          </Panel>
          <Button variant="secondary" onClick={() => void download(query)}>Download CSV</Button>
        </>
      )}
    </section>
  );
}
