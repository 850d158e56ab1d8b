import { useState } from 'react';
import { Link } from 'react-router';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { orders } from '../api';
import { OrderTable } from '../orders/OrderTable';
import { PageHeading } from '../components/page';
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
      <PageHeading title="My orders" className="mb-4" />
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : q.data.items.length === 0 ? (
        <Empty>You have no orders yet. <Link className="text-indigo-700 underline" to="/">Browse the catalog</Link>.</Empty>
      ) : (
        <>
          <OrderTable items={q.data.items} />
          <Pager page={page} perPage={20} total={q.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
