// A tiny SVG line of recent values (queue depth over the last minutes).
export function Sparkline({ values, label, width = 120, height = 28 }: { values: number[]; label: string; width?: number; height?: number }) {
  if (values.length < 2) return <span className="text-xs text-slate-600">collecting…</span>;
  const max = Math.max(1, ...values);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * (height - 2) - 1).toFixed(1)}`).join(' ');
  return (
    <svg width={width} height={height} role="img" aria-label={`${label}: last ${values.length} samples, max ${max}`}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" className="text-indigo-600" />
    </svg>
  );
}
