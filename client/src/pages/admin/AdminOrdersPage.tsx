import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { orders } from '../../api';
import type { OrderStatus } from '../../api/types';
import { ALL_STATUSES } from '../../orders/stateMachine';
import { OrderTable } from '../../orders/OrderTable';
import { Empty, ErrorBox, Loading, Pager, SelectField, TextField } from '../../components/ui';
import { fieldError } from '../../api/errors';

export function AdminOrdersPage() {
  const [status, setStatus] = useState<OrderStatus | ''>('');
  const [userId, setUserId] = useState('');
  const [page, setPage] = useState(1);
  const q = useQuery({
    queryKey: ['orders', 'all', { status, userId, page }],
    queryFn: () => orders.list({ status: status || undefined, user_id: userId.trim() || undefined, page, per_page: 20 }),
    placeholderData: keepPreviousData,
  });
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">All orders</h1>
      <div className="mb-4 grid grid-cols-1 gap-3 sm:grid-cols-3">
        <SelectField label="Status" value={status} error={fieldError(q.error, 'status')}
          onChange={(e) => { setStatus(e.target.value as OrderStatus | ''); setPage(1); }}>
          <option value="">Any</option>
          {ALL_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </SelectField>
        <TextField label="User id" value={userId} error={fieldError(q.error, 'user_id')}
          onChange={(e) => { setUserId(e.target.value); setPage(1); }} />
      </div>
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>No orders match.</Empty>
      ) : (
        <>
          <OrderTable items={q.data.items} showUser />
          <Pager page={page} perPage={20} total={q.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
