// Orders (bars) and revenue (a dashed line with dots, on its own axis) per bucket, drawn by Recharts. The two series
// differ in shape, not only in colour, and the tooltip gives each bucket's numbers on hover or keyboard focus.
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { AnalyticsSummary } from '../../../api/types';
import { formatMoney, minorDigits } from '../../../money';
import { bucketLabel } from './figures';

export function TimeSeriesChart({ summary }: { summary: AnalyticsSummary }) {
  const digits = minorDigits(summary.currency);
  const data = summary.buckets.map((b) => ({
    label: bucketLabel(b.start, summary.bucket),
    placed: b.placed,
    cancelled: b.cancelled,
    revenue: b.revenue.amount / 10 ** digits,
  }));
  const money = (major: number) => formatMoney({ amount: Math.round(major * 10 ** digits), currency: summary.currency });
  return (
    <div className="h-72 w-full" data-testid="analytics-chart">
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }} accessibilityLayer>
          <CartesianGrid strokeDasharray="3 3" stroke="#cbd5e1" />
          <XAxis dataKey="label" tick={{ fontSize: 12, fill: '#334155' }} minTickGap={16} />
          <YAxis yAxisId="orders" allowDecimals={false} tick={{ fontSize: 12, fill: '#334155' }} width={40}
            label={{ value: 'Orders', angle: -90, position: 'insideLeft', fill: '#334155', fontSize: 12 }} />
          <YAxis yAxisId="revenue" orientation="right" tick={{ fontSize: 12, fill: '#334155' }} width={72}
            tickFormatter={(v: number) => money(v)} />
          <Tooltip
            formatter={(value, name) => (name === 'Revenue' ? money(Number(value)) : String(value))}
            contentStyle={{ color: '#0f172a' }}
          />
          <Legend wrapperStyle={{ color: '#0f172a' }} />
          <Bar yAxisId="orders" dataKey="placed" name="Orders placed" fill="#4f46e5" />
          <Bar yAxisId="orders" dataKey="cancelled" name="Cancelled" fill="#94a3b8" stroke="#334155" strokeDasharray="2 2" />
          <Line yAxisId="revenue" dataKey="revenue" name="Revenue" type="linear" stroke="#b45309" strokeWidth={2}
            strokeDasharray="6 3" dot={{ r: 3 }} isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
