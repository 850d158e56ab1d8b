// Paging through the API's lists by keyset cursor. A page answers with `next_cursor` (where the next page
// starts) and no way back, so the pager keeps the cursors it has followed: "Next" follows `next_cursor`,
// "Previous" goes back to the cursor before, "First page" drops them all. The position lives in the address
// (`page`, `cursor`, and the earlier cursors as repeated `prev`), so a reload or the browser's back and forward
// buttons land on the same page; a change of filter or sort builds its address without them: page 1.
// A cursor the server refuses (altered, stale, or from another filter: 422 or 404) quietly means page 1.
import { keepPreviousData, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useSearchParams } from 'react-router';
import { toApiError } from '../api/errors';
import { Button } from './ui';
import { useFeedback } from './feedback';

/** What every cursor-paged list answers (`Page_*` in the OpenAPI document). */
export interface ListPage<T = unknown> {
  items: T[];
  /** The server's: 1 for a page asked for by cursor. In `useCursorList`'s data: this page's number in the walk. */
  page: number;
  per_page: number;
  total: number;
  total_exact: boolean;
  has_more: boolean;
  next_cursor?: string | null;
}

/** The shape the server's cursors have (`contract::CURSOR_PATTERN`, at most 1,024 characters). */
const CURSOR = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
const isCursor = (c: string | null): c is string => c !== null && c.length <= 1024 && CURSOR.test(c);

/** How many earlier cursors the address keeps (each is ~100 characters); deeper, "Previous" stops, "First page" works. */
export const KEPT_CURSORS = 50;

/** Where in the list the address says we are. */
export interface Position {
  /** 1 for the first page. */
  page: number;
  /** Where this page starts; absent on page 1. */
  cursor?: string;
  /** The cursors of the pages before this one (after page 1), oldest first; at most `KEPT_CURSORS`. */
  prev: string[];
}

/** The position in `params`; anything malformed (a hand-edited or old address) reads as page 1. */
export function readPosition(params: URLSearchParams): Position {
  const cursor = params.get('cursor');
  if (!isCursor(cursor)) return { page: 1, prev: [] };
  const all = params.getAll('prev');
  // A gap in the stack would put "Previous" on the wrong page: keep none rather.
  const prev = all.every(isCursor) ? all.slice(-KEPT_CURSORS) : [];
  const asked = Number(params.get('page'));
  const page = Number.isSafeInteger(asked) && asked >= prev.length + 2 ? asked : prev.length + 2;
  return { page, cursor, prev };
}

/** `params` with `position` in place of the one they had (every other parameter kept). */
export function writePosition(params: URLSearchParams, position: Position): URLSearchParams {
  const out = new URLSearchParams(params);
  for (const name of ['page', 'cursor', 'prev']) out.delete(name);
  if (position.cursor && position.page > 1) {
    out.set('page', String(position.page));
    out.set('cursor', position.cursor);
    for (const c of position.prev.slice(-KEPT_CURSORS)) out.append('prev', c);
  }
  return out;
}

/** Whether the server refused the cursor itself: malformed (422 on `cursor`) or not this list's (404). */
export function isRefusedCursor(err: unknown): boolean {
  const e = toApiError(err);
  if (e.status === 404) return true;
  return e.status === 422 && (e.field === 'cursor' || (e.details ?? []).some((d) => d.field === 'cursor'));
}

const count = (n: number) => n.toLocaleString('en-US');

/** A total as far as it is known: `1,234`, or `1,000+` (an estimate: the server stopped counting exactly). */
export function formatTotal(total: number, exact: boolean): string {
  return exact ? count(total) : `${count(total)}+`;
}

/** "21–40 of 1,234" (or "of 10,000+" when the total is a lower bound). */
export function rangeText(p: Pick<ListPage, 'page' | 'per_page' | 'total' | 'total_exact' | 'has_more'> & { items: unknown[] }): string {
  const from = (p.page - 1) * p.per_page + 1;
  const to = from + p.items.length - 1;
  // Past the exact count the lower bound is at least what has been walked through.
  const total = p.total_exact ? count(p.total) : `${count(Math.max(p.total, to + (p.has_more ? 1 : 0)))}+`;
  if (p.items.length === 0) return `No more items (${total} in all)`;
  return `${count(from)}–${count(to)} of ${total}`;
}

/** The pager's state and moves, for `CursorPager`. */
export interface PagerControls {
  /** The page on screen (the previous one while the next loads). */
  data: ListPage | undefined;
  /** The page the address asks for. */
  page: number;
  /** A page is loading in place of the one on screen. */
  busy: boolean;
  canPrevious: boolean;
  next(): void;
  previous(): void;
  first(): void;
}

/**
 * A cursor-paged list: `queryFn` fetches the page that starts at `cursor` (the first page without one). The query
 * key ends with the position, the page on screen stays while the next loads, and a refused cursor gives page 1.
 * Its data's `page` is the page's number in this walk (the server says 1 for any page asked for by cursor).
 */
export function useCursorList<P extends ListPage>({ queryKey, queryFn, refetchInterval }: {
  queryKey: QueryKey;
  queryFn: (cursor: string | undefined) => Promise<P>;
  refetchInterval?: (data: P | undefined) => number | false;
}) {
  const [params, setParams] = useSearchParams();
  const qc = useQueryClient();
  const { toast } = useFeedback();
  const position = readPosition(params);
  const { page, cursor, prev } = position;

  // The address as it is now, for what happens after an await (the render's `params` may be old by then).
  const latest = useRef({ params, setParams });
  useEffect(() => {
    latest.current = { params, setParams };
  }, [params, setParams]);
  const move = (to: Position, replace = false) => {
    const { params: now, setParams: set } = latest.current;
    set(writePosition(now, to), { replace });
  };

  const key = [...queryKey, { cursor: cursor ?? null, page }];
  const firstKey = [...queryKey, { cursor: null, page: 1 }];
  const list = useQuery({
    queryKey: key,
    queryFn: async (): Promise<P> => {
      try {
        return { ...(await queryFn(cursor)), page };
      } catch (err) {
        if (!cursor || !isRefusedCursor(err)) throw err;
        // The cursor is no good here (the filter changed, or an old link): page 1, without an error.
        const first = { ...(await queryFn(undefined)), page: 1 };
        qc.setQueryData(firstKey, first);
        if (readPosition(latest.current.params).cursor === cursor) {
          move({ page: 1, prev: [] }, true);
          toast('That page of the list is no longer there: showing the first page.', 'info');
        }
        return first;
      }
    },
    placeholderData: keepPreviousData,
    refetchInterval: refetchInterval ? (q) => refetchInterval(q.state.data) : undefined,
  });

  const busy = list.isPlaceholderData;
  const data = list.data;
  const canPrevious = page === 2 || (page > 2 && prev.length > 0);
  const pager: PagerControls = {
    data,
    page,
    busy,
    canPrevious,
    next: () => {
      const next = data?.next_cursor;
      if (busy || !next) return;
      move({ page: page + 1, cursor: next, prev: cursor ? [...prev, cursor] : [] });
    },
    previous: () => {
      if (busy || !canPrevious) return;
      move(page === 2 ? { page: 1, prev: [] } : { page: page - 1, cursor: prev[prev.length - 1], prev: prev.slice(0, -1) });
    },
    first: () => {
      if (page > 1) move({ page: 1, prev: [] });
    },
  };
  return { list, pager };
}

/**
 * First / Previous / range / Next under a list. A button that cannot be used is `aria-disabled` rather than disabled,
 * so that the keyboard focus stays on it (on Next at the last page, say). The range is announced as it changes; while
 * a page loads it still says what is on screen (the page before), and the buttons wait for it.
 */
export function CursorPager({ pager, label = 'Pages' }: { pager: PagerControls; label?: string }) {
  const { data, page, busy, canPrevious } = pager;
  if (!data || (page === 1 && data.items.length === 0)) return null;
  const hasNext = Boolean(data.next_cursor);
  // One page in all: only how many there are.
  const alone = page === 1 && !hasNext;
  const control = (name: string, visible: string, enabled: boolean, onClick: () => void) => (
    <Button
      variant="secondary"
      aria-label={name}
      aria-disabled={!enabled || busy ? true : undefined}
      className="aria-disabled:cursor-not-allowed aria-disabled:opacity-50 aria-disabled:hover:bg-white"
      onClick={() => {
        if (enabled && !busy) onClick();
      }}
    >
      {visible}
    </Button>
  );
  return (
    <nav aria-label={label} aria-busy={busy || undefined} className="mt-4 flex flex-wrap items-center gap-3 text-sm">
      {!alone && control('First page', 'First', page > 1, pager.first)}
      {!alone && control('Previous page', 'Previous', canPrevious, pager.previous)}
      <p aria-live="polite" aria-atomic="true" data-testid="page-range" className="tabular-nums">
        {rangeText(data)}
      </p>
      {!alone && control('Next page', 'Next', hasNext, pager.next)}
    </nav>
  );
}
