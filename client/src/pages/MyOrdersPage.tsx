import { Link } from 'react-router';
import { orders } from '../api';
import { OrderTable } from '../orders/OrderTable';
import { PageHeading } from '../components/page';
import { Empty, ErrorBox, Loading } from '../components/ui';
import { CursorPager, useCursorList } from '../components/pager';
import { useAuth } from '../auth/AuthContext';

export function MyOrdersPage() {
  const { user } = useAuth();
  const { list: q, pager } = useCursorList({
    queryKey: ['orders', 'mine', user?.id],
    queryFn: (cursor) => orders.list({ cursor, per_page: 20, user_id: user?.id }),
  });
  return (
    <section>
      <PageHeading title="My orders" className="mb-4" />
      {q.isPending ? <Loading /> : q.isError ? <ErrorBox error={q.error} /> : (
        <>
          {q.data.items.length === 0 ? (pager.page > 1 ? <Empty>No more orders.</Empty> :
            <Empty>You have no orders yet. <Link className="text-indigo-700 underline" to="/">Browse the catalog</Link>.</Empty>
          ) : <OrderTable items={q.data.items} />}
          <CursorPager pager={pager} label="Pages of orders" />
        </>
      )}
    </section>
  );
}
