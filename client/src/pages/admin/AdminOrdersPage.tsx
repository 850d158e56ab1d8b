import { useSearchParams } from 'react-router';
import { orders } from '../../api';
import type { OrderStatus } from '../../api/types';
import { ALL_STATUSES } from '../../orders/stateMachine';
import { OrderTable } from '../../orders/OrderTable';
import { Button, Empty, ErrorBox, Loading, SelectField, TextField } from '../../components/ui';
import { CursorPager, useCursorList } from '../../components/pager';
import { fieldError } from '../../api/errors';
import { PageHeading } from '../../components/page';

const PER_PAGE = 20;

export function AdminOrdersPage() {
  // The filters live in the address, so a filtered list can be linked to (e.g. from an order's page). A new
  // filter's address has no cursor: its first page.
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as OrderStatus | '';
  const userId = params.get('user_id') ?? '';
  const update = (next: { status?: string; user_id?: string }) => {
    const merged = { status, user_id: userId, ...next };
    const out: Record<string, string> = {};
    if (merged.status) out.status = merged.status;
    if (merged.user_id) out.user_id = merged.user_id;
    setParams(out, { replace: true });
  };
  const { list: q, pager } = useCursorList({
    queryKey: ['orders', 'all', { status, userId }],
    queryFn: (cursor) => orders.list({ status: status || undefined, user_id: userId.trim() || undefined, cursor, per_page: PER_PAGE }),
  });
  return (
    <section>
      <PageHeading title="All orders" className="mb-4" />
      <div className="mb-4 grid grid-cols-1 items-end gap-3 sm:grid-cols-3">
        <SelectField label="Status" value={status} error={fieldError(q.error, 'status')}
          onChange={(e) => update({ status: e.target.value })}>
          <option value="">Any</option>
          {ALL_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </SelectField>
        <TextField label="User id" value={userId} error={fieldError(q.error, 'user_id')} hint="Pick a customer in the list to see only their orders"
          onChange={(e) => update({ user_id: e.target.value })} />
        {(status || userId) && (
          <div><Button variant="secondary" onClick={() => update({ status: '', user_id: '' })}>Clear filters</Button></div>
        )}
      </div>
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : (
        <>
          {q.data.items.length === 0 ? <Empty>No orders match.</Empty> : (
            <OrderTable items={q.data.items} onUser={(id) => update({ user_id: id })} />
          )}
          <CursorPager pager={pager} label="Pages of orders" />
        </>
      )}
    </section>
  );
}
