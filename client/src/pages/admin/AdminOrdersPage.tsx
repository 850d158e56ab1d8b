import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { orders } from '../../api';
import type { OrderStatus } from '../../api/types';
import { ALL_STATUSES } from '../../orders/stateMachine';
import { OrderTable } from '../../orders/OrderTable';
import { Button, Empty, ErrorBox, Loading, Pager, SelectField, TextField } from '../../components/ui';
import { fieldError } from '../../api/errors';
import { PageHeading } from '../../components/page';

const PER_PAGE = 20;

export function AdminOrdersPage() {
  // The filters live in the address, so a filtered list can be linked to (e.g. from an order's page).
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as OrderStatus | '';
  const userId = params.get('user_id') ?? '';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const update = (next: { status?: string; user_id?: string; page?: number }) => {
    const merged = { status, user_id: userId, page: 1, ...next };
    const out: Record<string, string> = {};
    if (merged.status) out.status = merged.status;
    if (merged.user_id) out.user_id = merged.user_id;
    if (merged.page > 1) out.page = String(merged.page);
    setParams(out, { replace: true });
  };
  const q = useQuery({
    queryKey: ['orders', 'all', { status, userId, page }],
    queryFn: () => orders.list({ status: status || undefined, user_id: userId.trim() || undefined, page, per_page: PER_PAGE }),
    placeholderData: keepPreviousData,
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
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>No orders match.</Empty>
      ) : (
        <>
          <OrderTable items={q.data.items} onUser={(id) => update({ user_id: id })} />
          <Pager page={page} perPage={PER_PAGE} total={q.data.total} onPage={(p) => update({ page: p })} />
        </>
      )}
    </section>
  );
}
