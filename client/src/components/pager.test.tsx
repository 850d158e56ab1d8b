import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it, vi } from 'vitest';
import { useLocation, useNavigate, useSearchParams } from 'react-router';
import { renderAt } from '../test/render';
import {
  CursorPager, KEPT_CURSORS, formatTotal, isRefusedCursor, rangeText, readPosition, useCursorList, writePosition,
  type ListPage,
} from './pager';

/** A cursor as the server writes them (any position, a 22-character tag). */
const cur = (n: number) => `p${n}.${'t'.repeat(22)}`;
const pageOf = (cursor: string | undefined) => (cursor ? Number(cursor.slice(1, cursor.indexOf('.'))) : 1);

const refused = (status: number, error: object) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);

/**
 * A list of `size` numbered rows, 2 to a page, filtered by the address's `filter` (which changes the rows'
 * names); page n starts at cursor `cur(n)`.
 */
function fakeList({ size = 5, exact = true, refuse }: { size?: number; exact?: boolean; refuse?: (cursor: string) => Error | undefined } = {}) {
  return vi.fn(async (filter: string, cursor: string | undefined): Promise<ListPage<string>> => {
    const error = cursor && refuse?.(cursor);
    if (error) throw error;
    const n = pageOf(cursor);
    const from = (n - 1) * 2 + 1;
    const items = Array.from({ length: Math.max(0, Math.min(2, size - from + 1)) }, (_, i) => `${filter}-${from + i}`);
    const more = from + 2 <= size;
    return {
      items, page: 1, per_page: 2, total: exact ? size : Math.min(size, 4), total_exact: exact, has_more: more,
      next_cursor: more ? cur(n + 1) : null,
    };
  });
}

function Harness({ fetch }: { fetch: ReturnType<typeof fakeList> }) {
  const [params, setParams] = useSearchParams();
  const filter = params.get('filter') ?? 'all';
  const location = useLocation();
  const navigate = useNavigate();
  const { list, pager } = useCursorList({ queryKey: ['rows', filter], queryFn: (cursor) => fetch(filter, cursor) });
  return (
    <div>
      <button onClick={() => setParams({ filter: 'red' }, { replace: true })}>Only red</button>
      <button onClick={() => navigate(-1)}>Back</button>
      <output data-testid="address">{location.search}</output>
      {list.isPending ? <p>Loading</p> : list.isError ? <p role="alert">failed</p> : (
        <>
          <ul aria-label="Rows">{list.data.items.map((r) => <li key={r}>{r}</li>)}</ul>
          <CursorPager pager={pager} />
        </>
      )}
    </div>
  );
}

const open = (fetch: ReturnType<typeof fakeList>, path = '/rows') => renderAt(path, { '/rows': <Harness fetch={fetch} /> });
const rows = () => within(screen.getByRole('list', { name: 'Rows' })).getAllByRole('listitem').map((li) => li.textContent);
const range = () => screen.getByTestId('page-range');
const address = () => new URLSearchParams(screen.getByTestId('address').textContent ?? '');
const button = (name: string) => screen.getByRole('button', { name });

describe('the cursor pager', () => {
  it('follows next_cursor with Next, and goes back through the cursors seen with Previous', async () => {
    const fetch = fakeList();
    open(fetch);
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 5'));
    expect(rows()).toEqual(['all-1', 'all-2']);
    expect(button('Previous page')).toHaveAttribute('aria-disabled', 'true');
    expect(range()).toHaveAttribute('aria-live', 'polite');
    expect(fetch).toHaveBeenLastCalledWith('all', undefined);

    await userEvent.click(button('Next page'));
    await waitFor(() => expect(range()).toHaveTextContent('3–4 of 5'));
    expect(rows()).toEqual(['all-3', 'all-4']);
    expect(fetch).toHaveBeenLastCalledWith('all', cur(2));
    expect(address().get('cursor')).toBe(cur(2));
    expect(address().get('page')).toBe('2');

    await userEvent.click(button('Next page'));
    await waitFor(() => expect(range()).toHaveTextContent('5–5 of 5'));
    expect(rows()).toEqual(['all-5']);
    // The last page: Next stays focusable but does nothing.
    expect(button('Next page')).toHaveAttribute('aria-disabled', 'true');
    expect(address().getAll('prev')).toEqual([cur(2)]);
    const calls = fetch.mock.calls.length;
    await userEvent.click(button('Next page'));
    expect(fetch).toHaveBeenCalledTimes(calls);

    await userEvent.click(button('Previous page'));
    await waitFor(() => expect(range()).toHaveTextContent('3–4 of 5'));
    expect(rows()).toEqual(['all-3', 'all-4']);
    expect(address().get('cursor')).toBe(cur(2));
    expect(address().getAll('prev')).toEqual([]);

    await userEvent.click(button('Previous page'));
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 5'));
    expect(rows()).toEqual(['all-1', 'all-2']);
    expect(address().get('cursor')).toBeNull();
  });

  it('keeps the position in the address: a reload lands on the same page, and the browser goes back a page', async () => {
    const fetch = fakeList({ size: 9 });
    open(fetch, `/rows?page=3&cursor=${cur(3)}&prev=${cur(2)}`);
    await waitFor(() => expect(range()).toHaveTextContent('5–6 of 9'));
    expect(fetch).toHaveBeenCalledWith('all', cur(3));
    expect(fetch).not.toHaveBeenCalledWith('all', undefined);

    await userEvent.click(button('Next page'));
    await waitFor(() => expect(range()).toHaveTextContent('7–8 of 9'));
    expect(address().getAll('prev')).toEqual([cur(2), cur(3)]);
    await userEvent.click(button('Back'));
    await waitFor(() => expect(range()).toHaveTextContent('5–6 of 9'));

    await userEvent.click(button('Previous page'));
    await waitFor(() => expect(range()).toHaveTextContent('3–4 of 9'));
    expect(fetch).toHaveBeenLastCalledWith('all', cur(2));
    await userEvent.click(button('First page'));
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 9'));
    expect(screen.queryByRole('button', { name: 'First page' })).toHaveAttribute('aria-disabled', 'true');
  });

  it('starts again at page 1 when the filter changes', async () => {
    const fetch = fakeList();
    open(fetch);
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 5'));
    await userEvent.click(button('Next page'));
    await waitFor(() => expect(rows()).toEqual(['all-3', 'all-4']));

    await userEvent.click(button('Only red'));
    await waitFor(() => expect(rows()).toEqual(['red-1', 'red-2']));
    expect(fetch).toHaveBeenLastCalledWith('red', undefined);
    expect(range()).toHaveTextContent('1–2 of 5');
    expect(address().get('cursor')).toBeNull();
    expect(address().get('filter')).toBe('red');
  });

  it('says "10,000+" rather than a total the server did not count exactly', async () => {
    open(fakeList({ size: 9, exact: false }));
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 4+'));
    expect(rangeText({ page: 1, per_page: 50, items: Array(50), total: 10_000, total_exact: false, has_more: true }))
      .toBe('1–50 of 10,000+');
    expect(rangeText({ page: 1, per_page: 50, items: Array(50), total: 1234, total_exact: true, has_more: true }))
      .toBe('1–50 of 1,234');
    // Deeper than the count: at least what has been walked through, and more.
    expect(rangeText({ page: 201, per_page: 50, items: Array(50), total: 10_000, total_exact: false, has_more: true }))
      .toBe('10,001–10,050 of 10,051+');
    expect(formatTotal(10_000, false)).toBe('10,000+');
    expect(formatTotal(12, true)).toBe('12');
  });

  it('has no buttons for a list of one page', async () => {
    open(fakeList({ size: 2 }));
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 2'));
    expect(screen.queryByRole('button', { name: 'Next page' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Previous page' })).not.toBeInTheDocument();
  });

  it.each([
    ['not this list’s (404)', refused(404, { code: 'not_found', message: 'no such cursor' })],
    ['malformed (422)', refused(422, { code: 'invalid_query', message: 'cursor: is not a cursor', field: 'cursor' })],
  ])('shows page 1, and no error, for a cursor the server refuses: %s', async (_, error) => {
    const fetch = fakeList({ refuse: (c) => (c === cur(2) ? error : undefined) });
    open(fetch, `/rows?filter=red&page=2&cursor=${cur(2)}`);
    await waitFor(() => expect(address().get('cursor')).toBeNull());
    expect(range()).toHaveTextContent('1–2 of 5');
    expect(rows()).toEqual(['red-1', 'red-2']);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(address().get('filter')).toBe('red');
    // What happened, politely.
    expect(await screen.findByText(/no longer there: showing the first page/)).toBeInTheDocument();
  });

  it('shows other errors as they are', async () => {
    const fetch = fakeList({ refuse: () => refused(503, { code: 'service_unavailable', message: 'down' }) });
    open(fetch, `/rows?page=2&cursor=${cur(2)}`);
    expect(await screen.findByRole('alert')).toHaveTextContent('failed');
    expect(address().get('cursor')).toBe(cur(2));
  });

  it('keeps the page on screen, and waits, while the next one loads', async () => {
    let release: () => void = () => undefined;
    const inner = fakeList();
    const fetch = vi.fn(async (filter: string, cursor: string | undefined) => {
      if (cursor) await new Promise<void>((r) => { release = r; });
      return inner(filter, cursor);
    }) as unknown as ReturnType<typeof fakeList>;
    open(fetch);
    await waitFor(() => expect(range()).toHaveTextContent('1–2 of 5'));
    await userEvent.click(button('Next page'));
    expect(rows()).toEqual(['all-1', 'all-2']);
    expect(range()).toHaveTextContent('1–2 of 5');
    expect(screen.getByRole('navigation', { name: 'Pages' })).toHaveAttribute('aria-busy', 'true');
    expect(button('Next page')).toHaveAttribute('aria-disabled', 'true');
    await act(async () => release());
    await waitFor(() => expect(rows()).toEqual(['all-3', 'all-4']));
    expect(button('Next page')).not.toHaveAttribute('aria-disabled');
  });
});

describe('the position in the address', () => {
  it('reads anything malformed as page 1', () => {
    expect(readPosition(new URLSearchParams('page=4'))).toEqual({ page: 1, prev: [] });
    expect(readPosition(new URLSearchParams('page=2&cursor=nope'))).toEqual({ page: 1, prev: [] });
    expect(readPosition(new URLSearchParams(`cursor=${cur(3)}&prev=${cur(2)}`))).toEqual({ page: 3, cursor: cur(3), prev: [cur(2)] });
    // A damaged stack: no way back but the first page (the number stays).
    expect(readPosition(new URLSearchParams(`page=3&cursor=${cur(3)}&prev=x`))).toEqual({ page: 3, cursor: cur(3), prev: [] });
    expect(readPosition(new URLSearchParams(`page=1&cursor=${cur(3)}&prev=${cur(2)}`)).page).toBe(3);
  });

  it('keeps the other parameters, and at most KEPT_CURSORS earlier cursors', () => {
    const prev = Array.from({ length: KEPT_CURSORS + 5 }, (_, i) => cur(i + 2));
    const out = writePosition(new URLSearchParams('q=mug&page=9'), { page: KEPT_CURSORS + 7, cursor: cur(99), prev });
    expect(out.get('q')).toBe('mug');
    expect(out.getAll('prev')).toEqual(prev.slice(-KEPT_CURSORS));
    expect(readPosition(out)).toEqual({ page: KEPT_CURSORS + 7, cursor: cur(99), prev: prev.slice(-KEPT_CURSORS) });
    expect(writePosition(out, { page: 1, prev: [] }).toString()).toBe('q=mug');
  });

  it('tells a refused cursor from other errors', () => {
    expect(isRefusedCursor(refused(404, { code: 'not_found', message: 'no such cursor' }))).toBe(true);
    expect(isRefusedCursor(refused(422, { code: 'invalid_query', message: 'm', field: 'cursor' }))).toBe(true);
    expect(isRefusedCursor(refused(422, { code: 'invalid_query', message: 'm', field: 'status' }))).toBe(false);
    expect(isRefusedCursor(refused(503, { code: 'service_unavailable', message: 'm' }))).toBe(false);
  });
});
