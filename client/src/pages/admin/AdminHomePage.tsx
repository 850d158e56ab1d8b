import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { ops, orders, products } from '../../api';
import { PageHeading } from '../../components/page';
import { Loading, StockBadge } from '../../components/ui';
import { formatTotal } from '../../components/pager';
import { HealthSummary } from '../ops/QueuesPage';
import { problems } from '../ops/health';

function Card({ title, children, to, linkText }: { title: string; children: React.ReactNode; to: string; linkText: string }) {
  return (
    <section className="flex flex-col gap-2 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">{title}</h2>
      <div className="flex-1 text-sm">{children}</div>
      <Link to={to} className="text-sm font-medium text-indigo-700 underline">{linkText}</Link>
    </section>
  );
}

/** Where an admin starts: what waits for them, what runs low, and whether the system is healthy. */
export function AdminHomePage() {
  const toConfirm = useQuery({ queryKey: ['orders', 'all', 'to-confirm'], queryFn: () => orders.list({ status: 'PLACED', per_page: 1 }) });
  const toShip = useQuery({ queryKey: ['orders', 'all', 'to-ship'], queryFn: () => orders.list({ status: 'CONFIRMED', per_page: 1 }) });
  const low = useQuery({
    queryKey: ['products', 'admin', 'lowest'],
    queryFn: () => products.list({ sort: 'stock_asc', per_page: 5, include_inactive: true }),
  });
  const queues = useQuery({ queryKey: ['ops', 'queues'], queryFn: ops.queues, refetchInterval: 10_000 });
  const lowItems = low.data?.items.filter((p) => p.low_stock) ?? [];
  return (
    <section className="space-y-4">
      <PageHeading title="Dashboard" />
      {queues.data ? <HealthSummary found={problems(queues.data.queues, new Map())} /> : <Loading label="Checking the system…" />}
      <div className="grid grid-cols-1 gap-4 md:grid-cols-3">
        <Card title="Orders to confirm" to="/admin/orders?status=PLACED" linkText="Confirm orders">
          <p className="text-3xl font-semibold" data-testid="to-confirm">{toConfirm.data ? formatTotal(toConfirm.data.total, toConfirm.data.total_exact) : '…'}</p>
          <p className="text-slate-600">placed and waiting for you</p>
        </Card>
        <Card title="Orders to ship" to="/admin/orders?status=CONFIRMED" linkText="Ship orders">
          <p className="text-3xl font-semibold" data-testid="to-ship">{toShip.data ? formatTotal(toShip.data.total, toShip.data.total_exact) : '…'}</p>
          <p className="text-slate-600">confirmed, not shipped yet</p>
        </Card>
        <Card title="Running low" to="/admin/products?sort=stock_asc" linkText="All products by stock">
          {low.isPending ? '…' : lowItems.length === 0 ? <p className="text-slate-600">Nothing is low on stock.</p> : (
            <ul className="space-y-1">
              {lowItems.map((p) => (
                <li key={p.id} className="flex flex-wrap items-center justify-between gap-2">
                  <Link className="text-indigo-700 underline" to={`/admin/products/${p.id}`}>{p.name}</Link>
                  <StockBadge product={p} />
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <p className="text-sm">
        <Link to="/admin/analytics" className="font-medium text-indigo-700 underline">Sales, best sellers and lead times</Link>
      </p>
    </section>
  );
}
