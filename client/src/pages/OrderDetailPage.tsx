import { Link, useParams } from 'react-router';
import { useEffect } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { orders, products } from '../api';
import { useAuth } from '../auth/AuthContext';
import { OrderActions } from '../orders/OrderActions';
import { isFinal } from '../orders/stateMachine';
import { ErrorBox, Loading, Money, StatusBadge, formatTime } from '../components/ui';
import type { LineOut } from '../api/types';

/** Line states that still change after the order's status is final. */
const UNSETTLED: readonly LineOut['reservation'][] = ['pending', 'releasing'];

/** A line's product name: fixed when it was reserved, else (a rejected line) the product's current name. */
function LineName({ line }: { line: LineOut }) {
  const q = useQuery({
    queryKey: ['product', line.product_id],
    queryFn: () => products.get(line.product_id),
    enabled: !line.name,
    staleTime: 60_000,
  });
  if (line.name ?? q.data?.name) return <>{line.name ?? q.data?.name}</>;
  return (
    <span title={line.product_id}>
      {q.isError ? 'A product no longer for sale' : 'Product'} <span className="font-mono text-xs text-slate-500">{line.product_id.slice(-8)}</span>
    </span>
  );
}

export function OrderDetailPage() {
  const { id = '' } = useParams();
  const { isAdmin } = useAuth();
  const qc = useQueryClient();
  // Live events keep the status fresh; the slow poll only covers a dropped event stream. Stock given
  // back after a cancel or reject brings no status event: follow the lines until it is done.
  const q = useQuery({
    queryKey: ['order', id],
    queryFn: () => orders.get(id),
    refetchInterval: (query) => {
      const o = query.state.data;
      if (o && isFinal(o.status)) {
        const settling = o.items.some((l) => UNSETTLED.includes(l.reservation));
        return settling && Date.now() - Date.parse(o.updated_at) < 120_000 ? 1_000 : false;
      }
      return 15_000;
    },
  });
  // Once stock has come back, what the catalog and the admin pages show of it is out of date.
  const released = q.data?.items.filter((l) => l.reservation === 'released').length ?? 0;
  useEffect(() => {
    if (released === 0) return;
    void qc.invalidateQueries({ queryKey: ['products'] });
    void qc.invalidateQueries({ queryKey: ['product'] });
    void qc.invalidateQueries({ queryKey: ['ledger'] });
  }, [released, qc]);
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
      <p className="text-sm text-slate-600">
        Placed {formatTime(o.created_at)} · updated {formatTime(o.updated_at)}
        {isAdmin && (
          <> · by user <Link className="font-mono text-indigo-700 underline" to={`/admin/orders?user_id=${encodeURIComponent(o.user_id)}`}
            title="All orders of this user">{o.user_id}</Link></>
        )}
      </p>
      <div className="overflow-x-auto">
        <table className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          <thead className="bg-slate-50 text-left">
            <tr><th className="p-2">Product</th><th className="p-2">Qty</th><th className="p-2">Unit price</th><th className="p-2">Line total</th><th className="p-2">Reservation</th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {o.items.map((l) => (
              <tr key={l.product_id}>
                <td className="p-2"><LineName line={l} /></td>
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
