// The analytics page's range, kept in the URL (`?range=today|7d|30d|custom&from=YYYY-MM-DD&to=YYYY-MM-DD`), and the
// query it becomes. Relative ranges leave `to` to the server (now), so that their query key stays the same while the
// page is open and a refresh asks for the latest figures.

export type RangeKind = 'today' | '7d' | '30d' | 'custom';

export const RANGE_CHOICES: { kind: RangeKind; label: string }[] = [
  { kind: 'today', label: 'Today' },
  { kind: '7d', label: 'Last 7 days' },
  { kind: '30d', label: 'Last 30 days' },
  { kind: 'custom', label: 'Custom' },
];

export interface Range {
  kind: RangeKind;
  /** The API's `from` and `to` (RFC 3339); `to` absent means now. */
  from: string;
  to?: string;
  /** The custom range's days as typed (inclusive), for the date fields. */
  fromDay: string;
  toDay: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` of a date in the browser's time zone. */
export function dayOf(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function midnight(now: Date, daysBack: number): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack);
}

/** The range the URL asks for (today when it asks for nothing it knows). */
export function rangeFromParams(params: URLSearchParams, now = new Date()): Range {
  const kind = (['today', '7d', '30d', 'custom'] as const).find((k) => k === params.get('range')) ?? 'today';
  const today = dayOf(now);
  if (kind === 'custom') {
    const fromDay = DAY.test(params.get('from') ?? '') ? params.get('from')! : dayOf(midnight(now, 6));
    const toDay = DAY.test(params.get('to') ?? '') ? params.get('to')! : today;
    // Whole days in the browser's time zone; the end day is included.
    const [fy, fm, fd] = fromDay.split('-').map(Number);
    const [ty, tm, td] = toDay.split('-').map(Number);
    return {
      kind,
      from: new Date(fy, fm - 1, fd).toISOString(),
      to: new Date(ty, tm - 1, td + 1).toISOString(),
      fromDay,
      toDay,
    };
  }
  const back = kind === 'today' ? 0 : kind === '7d' ? 6 : 29;
  const start = midnight(now, back);
  return { kind, from: start.toISOString(), fromDay: dayOf(start), toDay: today };
}

/** The URL parameters of a range choice. */
export function paramsOf(kind: RangeKind, fromDay?: string, toDay?: string): Record<string, string> {
  return kind === 'custom' && fromDay && toDay ? { range: kind, from: fromDay, to: toDay } : { range: kind };
}
