import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { orders } from '../../api';
import type { OrderStatus } from '../../api/types';
import { ALL_STATUSES } from '../../orders/stateMachine';
import { OrderTable, type CustomerFilter } from '../../orders/OrderTable';
import { parseOrderSearch, readNumber, searchParams, searchText } from '../../orders/search';
import { Button, Empty, ErrorBox, Loading, SelectField, TextField } from '../../components/ui';
import { CursorPager, useCursorList } from '../../components/pager';
import { fieldError } from '../../api/errors';
import { PageHeading } from '../../components/page';

const PER_PAGE = 20;

interface Filters {
  status: OrderStatus | '';
  /** One order, by its number. */
  number?: number;
  /** One customer's orders, by e-mail address. */
  customer?: string;
  /** The orders of customers whose name has these words. */
  customer_name?: string;
  /** One customer's orders, by account id: links from before orders named their customer still work. */
  user_id?: string;
}

export function AdminOrdersPage() {
  // The filters live in the address, so a filtered list can be linked to (e.g. from an order's page). A new
  // filter's address has no cursor: its first page.
  const [params, setParams] = useSearchParams();
  const filters: Filters = {
    status: (params.get('status') ?? '') as OrderStatus | '',
    number: readNumber(params.get('number')),
    customer: params.get('customer')?.trim() || undefined,
    customer_name: params.get('customer_name')?.trim() || undefined,
    user_id: params.get('user_id')?.trim() || undefined,
  };
  const { status, number, customer, customer_name: customerName, user_id: userId } = filters;
  const update = (next: Partial<Filters>) => {
    const merged = { ...filters, ...next };
    const out: Record<string, string> = {};
    if (merged.status) out.status = merged.status;
    if (merged.number !== undefined) out.number = String(merged.number);
    if (merged.customer) out.customer = merged.customer;
    if (merged.customer_name) out.customer_name = merged.customer_name;
    if (merged.user_id) out.user_id = merged.user_id;
    setParams(out, { replace: true });
  };

  // The search box: what is typed, until it is searched for. It shows what the address searches for when that changes.
  const searched = searchText({ number, customer, customer_name: customerName });
  const [draft, setDraft] = useState(searched);
  const [hint, setHint] = useState<string>();
  useEffect(() => {
    setDraft(searched);
    setHint(undefined);
  }, [searched]);
  const search = (e: FormEvent) => {
    e.preventDefault();
    const s = parseOrderSearch(draft);
    // Text that is neither a number nor an address asks nothing of the server.
    if (s.kind === 'invalid') return setHint(s.hint);
    setHint(undefined);
    update({ number: undefined, customer: undefined, customer_name: undefined, user_id: undefined, ...searchParams(s) });
  };
  const showCustomer = (f: CustomerFilter) =>
    update({ number: undefined, customer: undefined, customer_name: undefined, user_id: undefined, ...f });

  const { list: q, pager } = useCursorList({
    queryKey: ['orders', 'all', { status, number, customer, customerName, userId }],
    queryFn: (cursor) => orders.list({
      status: status || undefined, number, customer, customer_name: customerName, user_id: userId, cursor, per_page: PER_PAGE,
    }),
  });
  // A search the server refuses (say an address it cannot read) is said beside the box, in words.
  const searchError = fieldError(q.error, 'number') ?? fieldError(q.error, 'customer') ?? fieldError(q.error, 'customer_name');
  const filtered = Boolean(status || number !== undefined || customer || customerName || userId);
  return (
    <section>
      <PageHeading title="All orders" className="mb-4" />
      <div className="mb-4 grid grid-cols-1 items-start gap-3 sm:grid-cols-3">
        <form role="search" aria-label="Orders" onSubmit={search} className="flex items-start gap-2 sm:col-span-2">
          <div className="min-w-0 flex-1">
            <TextField label="Order number, customer e-mail or name" type="search" value={draft} autoComplete="off"
              placeholder="#1042, ada@example.com or Ada Lovelace" error={hint ?? searchError}
              hint="An order's number finds that order; an e-mail address or a name, that customer's orders."
              onChange={(e) => {
                setDraft(e.target.value);
                setHint(undefined);
              }} />
          </div>
          <Button type="submit" className="mt-6">Search</Button>
        </form>
        <SelectField label="Status" value={status} error={fieldError(q.error, 'status')}
          onChange={(e) => update({ status: e.target.value as OrderStatus | '' })}>
          <option value="">Any</option>
          {ALL_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </SelectField>
      </div>
      {(userId || filtered) && (
        <div className="mb-4 flex flex-wrap items-center gap-3 text-sm">
          {userId && <p className="text-slate-600">Showing one customer's orders (picked by their account).</p>}
          {filtered && <Button variant="secondary" onClick={() => update({ status: '', number: undefined, customer: undefined, customer_name: undefined, user_id: undefined })}>Clear filters</Button>}
        </div>
      )}
      {q.isPending ? <Loading /> : q.isError ? (searchError ? <Empty>No orders match.</Empty> : <ErrorBox error={q.error} />) : (
        <>
          {q.data.items.length === 0 ? <Empty>No orders match.</Empty> : (
            <OrderTable items={q.data.items} onCustomer={showCustomer} />
          )}
          <CursorPager pager={pager} label="Pages of orders" />
        </>
      )}
    </section>
  );
}
