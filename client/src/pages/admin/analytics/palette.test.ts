// The chart's colours (Recharts takes values, so they cannot follow index.css's dark palette): against the panel
// each text colour has at least 4.5:1 and each series' marks at least 3:1 (WCAG 1.4.3 and 1.4.11), in both modes.
// axe cannot tell the background of SVG text, so the browser scan cannot check these.
import { describe, expect, it } from 'vitest';
import { PALETTE } from './TimeSeriesChart';

const luminance = (hex: string) => {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

describe.each(['light', 'dark'] as const)('the chart in %s mode', (mode) => {
  const c = PALETTE[mode];
  it('has readable text on the panel', () => {
    expect(contrast(c.text, c.surface)).toBeGreaterThanOrEqual(4.5);
  });
  it('draws axes and series that stand out from the panel', () => {
    for (const mark of [c.axis, c.placed, c.cancelled, c.cancelledOutline, c.revenue]) {
      expect(contrast(mark, c.surface), mark).toBeGreaterThanOrEqual(3);
    }
  });
});
