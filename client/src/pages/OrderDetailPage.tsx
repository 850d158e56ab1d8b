import { Link, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { orders } from '../api';
import { useAuth } from '../auth/AuthContext';
import { OrderActions } from '../orders/OrderActions';
import { isFinal } from '../orders/stateMachine';
import { ErrorBox, Loading, Money, StatusBadge, formatTime } from '../components/ui';

export function OrderDetailPage() {
  const { id = '' } = useParams();
  const { isAdmin } = useAuth();
  // Live events keep this fresh; the slow poll only covers a dropped event stream.
  const q = useQuery({
    queryKey: ['order', id],
    queryFn: () => orders.get(id),
    refetchInterval: (query) => (query.state.data && isFinal(query.state.data.status) ? false : 15_000),
  });
  if (q.isPending) return <Loading label="Loading order…" />;
  if (q.isError) return <ErrorBox error={q.error} />;
  const o = q.data;
  const actor = isAdmin ? 'admin' : 'owner';
  return (
    <section className="space-y-4">
      <Link to={isAdmin ? '/admin/orders' : '/orders'} className="text-sm text-indigo-700 underline">← Orders</Link>
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">Order <span className="font-mono text-lg">{o.id}</span></h1>
        <StatusBadge status={o.status} />
      </div>
      <p className="text-sm text-slate-600">Placed {formatTime(o.created_at)} · updated {formatTime(o.updated_at)}</p>
      <div className="overflow-x-auto">
        <table className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          <thead className="bg-slate-50 text-left">
            <tr><th className="p-2">Product</th><th className="p-2">Qty</th><th className="p-2">Unit price</th><th className="p-2">Line total</th><th className="p-2">Reservation</th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {o.items.map((l) => (
              <tr key={l.product_id}>
                <td className="p-2">{l.name ?? l.product_id}</td>
                <td className="p-2">{l.quantity}</td>
                <td className="p-2"><Money value={l.unit_price} /></td>
                <td className="p-2"><Money value={l.line_total} /></td>
                <td className="p-2">
                  {l.reservation}
                  {l.reject_reason && (
                    <span className="block text-red-700" data-testid="reject-reason">{l.reject_message ?? l.reject_reason}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="text-lg font-semibold">Total <Money value={o.total} /></p>
      <OrderActions order={o} actor={actor} />
      <div>
        <h2 className="mb-2 font-semibold">History</h2>
        <ol className="space-y-1 text-sm">
          {o.history.map((h, i) => (
            <li key={i} className={h.refused ? 'text-red-700' : ''}>
              {formatTime(h.at)} — {h.from ? `${h.from} → ` : ''}{h.to}
              {h.refused ? ' (refused)' : ''} by {h.by}{h.reason ? `: ${h.reason}` : ''}
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
