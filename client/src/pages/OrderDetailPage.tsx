import { Link, useParams } from 'react-router';
import { useEffect } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { orders, products } from '../api';
import { useAuth } from '../auth/AuthContext';
import { useCart } from '../cart/CartContext';
import { OrderActions } from '../orders/OrderActions';
import { isFinal } from '../orders/stateMachine';
import { RESERVATION_WORDS, orderName, who } from '../orders/words';
import { DataTable } from '../components/DataTable';
import { PageHeading } from '../components/page';
import { ErrorBox, Loading, Money, StatusBadge, formatMoney, formatTime } from '../components/ui';
import { CopyReference } from '../components/reference';
import type { LineOut } from '../api/types';

/** Line states that still change after the order's status is final. */
const UNSETTLED: readonly LineOut['reservation'][] = ['pending', 'releasing'];

/** A line's product, by name: fixed when it was reserved, else (a rejected line) the product's current one. */
function useLineProduct(line: LineOut) {
  return useQuery({
    queryKey: ['product', line.product_id],
    queryFn: () => products.get(line.product_id),
    enabled: !line.name || !line.unit_price,
    staleTime: 60_000,
    retry: false,
  });
}

function LineName({ line }: { line: LineOut }) {
  const q = useLineProduct(line);
  const name = line.name ?? q.data?.name;
  if (name) return <Link className="text-slate-900 hover:underline" to={`/products/${line.product_id}`}>{name}</Link>;
  return <>{q.isError ? 'A product no longer for sale' : 'Loading…'}</>;
}

/** What the line costs: its reserved price, or for a line never reserved what the product costs now. */
function LinePrice({ line, total = false }: { line: LineOut; total?: boolean }) {
  const q = useLineProduct(line);
  const fixed = total ? line.line_total : line.unit_price;
  if (fixed) return <Money value={fixed} />;
  if (q.data) {
    const each = q.data.price;
    return <span className="text-slate-600">not charged ({formatMoney(total ? { ...each, amount: each.amount * line.quantity } : each)} now)</span>;
  }
  return <span className="text-slate-600">not charged</span>;
}

export function OrderDetailPage() {
  const { id = '' } = useParams();
  const { user, isAdmin } = useAuth();
  const { lines: cartLines } = useCart();
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
  if (q.isError) {
    return (
      <section className="space-y-3">
        <PageHeading title="Order not found" />
        <ErrorBox error={q.error} />
      </section>
    );
  }
  const o = q.data;
  const actor = isAdmin ? 'admin' : 'owner';
  const mine = user?.id === o.user_id;
  const keptInCart = o.status === 'REJECTED' && mine && o.items.some((l) => cartLines.some((c) => c.productId === l.product_id));
  return (
    <section className="space-y-4">
      <Link to={isAdmin ? '/admin/orders' : '/orders'} className="text-sm text-indigo-700 underline">← Orders</Link>
      <div className="flex flex-wrap items-center gap-3">
        <PageHeading title={`Order ${orderName(o)}`}>Order <span className="font-mono">{orderName(o)}</span></PageHeading>
        <StatusBadge status={o.status} />
      </div>
      <p className="text-sm text-slate-600">
        Placed {formatTime(o.created_at)} · updated {formatTime(o.updated_at)}
      </p>
      {isAdmin && !mine && (
        <p className="text-sm text-slate-700" data-testid="order-customer">
          Customer:{' '}
          {o.customer ? (
            <>
              {o.customer.name} &lt;{o.customer.email}&gt; ·{' '}
              <Link className="text-indigo-700 underline" to={`/admin/orders?customer=${encodeURIComponent(o.customer.email)}`}>
                this customer's orders</Link>
            </>
          ) : (
            <>
              {/* An order from before orders named their customer: the account is all it knows. */}
              Customer account (not named on this order) ·{' '}
              <Link className="text-indigo-700 underline" to={`/admin/orders?user_id=${encodeURIComponent(o.user_id)}`}>
                this customer's orders</Link>
            </>
          )}
        </p>
      )}
      {/* The id, for support and logs: copied, never shown. */}
      <p><CopyReference value={o.id} context={`of order ${orderName(o)}`} testId="order-reference" /></p>
      {o.status === 'REJECTED' && (
        <div role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
          This order could not be placed: nothing was charged and no stock was kept. The reason is on each line below.
          {keptInCart && <> Your cart still holds these items: <Link className="font-semibold underline" to="/cart">fix the quantities and order again</Link>.</>}
        </div>
      )}
      <DataTable
        label="Order lines"
        rows={o.items}
        rowKey={(l) => l.product_id}
        columns={[
          { header: 'Product', primary: true, cell: (l) => <LineName line={l} /> },
          { header: 'Qty', cell: (l) => l.quantity },
          { header: 'Unit price', cell: (l) => <LinePrice line={l} /> },
          { header: 'Line total', cell: (l) => <LinePrice line={l} total /> },
          {
            header: 'Stock',
            cell: (l) => (
              <>
                {RESERVATION_WORDS[l.reservation]}
                {l.reject_reason && (
                  <span className="block text-red-700" data-testid="reject-reason">{l.reject_message ?? l.reject_reason}</span>
                )}
              </>
            ),
          },
        ]}
      />
      <p className="text-lg font-semibold">Total {o.total ? <Money value={o.total} /> : 'nothing charged'}</p>
      <OrderActions order={o} actor={actor} />
      <div>
        <h2 className="mb-2 font-semibold">History</h2>
        <ol className="space-y-1 text-sm">
          {o.history.map((h, i) => (
            <li key={i} className={h.refused ? 'text-red-700' : ''}>
              {formatTime(h.at)} — {h.from ? `${h.from} → ` : ''}{h.to}
              {h.refused ? ' (refused)' : ''} by {who(h.by, user, o, h.by_name)}{h.reason ? `: ${h.reason}` : ''}
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
