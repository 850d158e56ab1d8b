// Orders (bars) and revenue (a dashed line with dots, on its own axis) per bucket, drawn by Recharts. The two series
// differ in shape, not only in colour, and the tooltip gives each bucket's numbers on hover or keyboard focus.
// Recharts draws with colours given as values, which the dark palette of index.css cannot turn around: the chart picks
// its own for the OS setting, each with at least 4.5:1 against the panel for text and 3:1 for shapes (WCAG 1.4.3,
// 1.4.11); text (ticks, legend, tooltip) is in the text colour, the series keep theirs only in their marks.
import { useSyncExternalStore } from 'react';
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { AnalyticsSummary } from '../../../api/types';
import { formatMoney, minorDigits } from '../../../money';
import { bucketLabel } from './figures';

const DARK_QUERY = '(prefers-color-scheme: dark)';
const darkMedia = () => (typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? window.matchMedia(DARK_QUERY) : null);

/** Whether the OS asks for dark mode (index.css then turns the palette around), following changes. */
function usePrefersDark(): boolean {
  return useSyncExternalStore(
    (changed) => {
      const media = darkMedia();
      media?.addEventListener('change', changed);
      return () => media?.removeEventListener('change', changed);
    },
    () => darkMedia()?.matches ?? false,
    () => false,
  );
}

/** On the panel's white (light) or slate-900 (dark): Tailwind's shades, contrasts measured against it. */
export const PALETTE = {
  light: {
    text: '#334155', // slate-700, 10.3:1
    axis: '#64748b', // slate-500, 4.8:1
    grid: '#cbd5e1', // slate-300 (the grid is a guide, not information)
    surface: '#ffffff',
    border: '#cbd5e1',
    placed: '#4f46e5', // indigo-600, 6.3:1
    cancelled: '#64748b', // slate-500, 4.8:1, with a dashed outline
    cancelledOutline: '#1e293b',
    revenue: '#b45309', // amber-700, 5.0:1
  },
  dark: {
    text: '#cbd5e1', // slate-300, 12:1 on slate-900
    axis: '#94a3b8', // slate-400, 6.9:1
    grid: '#334155', // slate-700
    surface: '#0f172a', // the panel (white turned around)
    border: '#475569',
    placed: '#818cf8', // indigo-400, 6.0:1
    cancelled: '#94a3b8', // slate-400, 6.9:1, with a dashed outline
    cancelledOutline: '#e2e8f0',
    revenue: '#f59e0b', // amber-500, 8.3:1
  },
} as const;

export function TimeSeriesChart({ summary }: { summary: AnalyticsSummary }) {
  const c = PALETTE[usePrefersDark() ? 'dark' : 'light'];
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
          <CartesianGrid strokeDasharray="3 3" stroke={c.grid} />
          <XAxis dataKey="label" tick={{ fontSize: 12, fill: c.text }} stroke={c.axis} minTickGap={16} />
          <YAxis yAxisId="orders" allowDecimals={false} tick={{ fontSize: 12, fill: c.text }} stroke={c.axis} width={40}
            label={{ value: 'Orders', angle: -90, position: 'insideLeft', fill: c.text, fontSize: 12 }} />
          <YAxis yAxisId="revenue" orientation="right" tick={{ fontSize: 12, fill: c.text }} stroke={c.axis} width={72}
            tickFormatter={(v: number) => money(v)} />
          <Tooltip
            formatter={(value, name) => (name === 'Revenue' ? money(Number(value)) : String(value))}
            contentStyle={{ color: c.text, background: c.surface, borderColor: c.border }}
            labelStyle={{ color: c.text, fontWeight: 600 }}
            itemStyle={{ color: c.text }}
            cursor={{ stroke: c.axis }}
          />
          <Legend formatter={(value: string) => <span style={{ color: c.text }}>{value}</span>} />
          <Bar yAxisId="orders" dataKey="placed" name="Orders placed" fill={c.placed} />
          <Bar yAxisId="orders" dataKey="cancelled" name="Cancelled" fill={c.cancelled} stroke={c.cancelledOutline} strokeDasharray="2 2" />
          <Line yAxisId="revenue" dataKey="revenue" name="Revenue" type="linear" stroke={c.revenue} strokeWidth={2}
            strokeDasharray="6 3" dot={{ r: 3, fill: c.surface }} isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
