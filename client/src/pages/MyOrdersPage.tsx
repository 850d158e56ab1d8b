import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { orders } from '../api';
import { OrderTable } from '../orders/OrderTable';
import { Empty, ErrorBox, Loading, Pager } from '../components/ui';
import { useAuth } from '../auth/AuthContext';

export function MyOrdersPage() {
  const { user } = useAuth();
  const [page, setPage] = useState(1);
  const q = useQuery({
    queryKey: ['orders', 'mine', page],
    queryFn: () => orders.list({ page, per_page: 20, user_id: user?.id }),
    placeholderData: keepPreviousData,
  });
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">My orders</h1>
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>You have no orders yet.</Empty>
      ) : (
        <>
          <OrderTable items={q.data.items} />
          <Pager page={page} perPage={20} total={q.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
