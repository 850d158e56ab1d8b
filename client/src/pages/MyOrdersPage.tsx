import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { orders } from '../api';
import { fieldError } from '../api/errors';
import { OrderTable } from '../orders/OrderTable';
import { SEARCH_HINT, parseOrderSearch, readNumber, searchText } from '../orders/search';
import { PageHeading } from '../components/page';
import { Button, Empty, ErrorBox, Loading, TextField } from '../components/ui';
import { CursorPager, useCursorList } from '../components/pager';
import { useAuth } from '../auth/AuthContext';

export function MyOrdersPage() {
  const { user } = useAuth();
  // "Find order #" lives in the address like the page; a new search starts at page 1.
  const [params, setParams] = useSearchParams();
  const number = readNumber(params.get('number'));
  const searched = searchText({ number });
  const [draft, setDraft] = useState(searched);
  const [hint, setHint] = useState<string>();
  useEffect(() => {
    setDraft(searched);
    setHint(undefined);
  }, [searched]);
  const find = (e: FormEvent) => {
    e.preventDefault();
    const s = parseOrderSearch(draft);
    if (s.kind === 'none') return setParams({}, { replace: true });
    if (s.kind !== 'number') return setHint(s.kind === 'invalid' && s.hint !== SEARCH_HINT ? s.hint : 'Enter an order number, like #1042.');
    setParams({ number: String(s.number) }, { replace: true });
  };
  const { list: q, pager } = useCursorList({
    queryKey: ['orders', 'mine', user?.id, { number }],
    queryFn: (cursor) => orders.list({ cursor, per_page: 20, user_id: user?.id, number }),
  });
  const searchError = fieldError(q.error, 'number');
  return (
    <section>
      <PageHeading title="My orders" className="mb-4" />
      <form role="search" aria-label="My orders" onSubmit={find} className="mb-4 flex max-w-md items-start gap-2">
        <div className="min-w-0 flex-1">
          <TextField label="Find order #" type="search" inputMode="numeric" autoComplete="off" placeholder="1042" value={draft}
            error={hint ?? searchError}
            onChange={(e) => {
              setDraft(e.target.value);
              setHint(undefined);
            }} />
        </div>
        <Button type="submit" className="mt-6">Find</Button>
        {number !== undefined && (
          <Button type="button" variant="secondary" className="mt-6" onClick={() => setParams({}, { replace: true })}>All orders</Button>
        )}
      </form>
      {q.isPending ? <Loading /> : q.isError ? (searchError ? null : <ErrorBox error={q.error} />) : (
        <>
          {q.data.items.length === 0 ? (
            number !== undefined ? <Empty>You have no order #{number}.</Empty>
              : pager.page > 1 ? <Empty>No more orders.</Empty>
                : <Empty>You have no orders yet. <Link className="text-indigo-700 underline" to="/">Browse the catalog</Link>.</Empty>
          ) : <OrderTable items={q.data.items} />}
          <CursorPager pager={pager} label="Pages of orders" />
        </>
      )}
    </section>
  );
}
