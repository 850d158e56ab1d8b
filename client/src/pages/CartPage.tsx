import { useRef } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { orders } from '../api';
import { useAuth } from '../auth/AuthContext';
import { useCart } from '../cart/CartContext';
import { fieldError, formError } from '../api/errors';
import { Button, Empty, ErrorBox, formatMoney } from '../components/ui';

export function CartPage() {
  const { lines, setQuantity, remove, clear, idempotencyKey } = useCart();
  const { user } = useAuth();
  const navigate = useNavigate();
  const qc = useQueryClient();
  // A double click lands before React disables the button: the second click must not send again.
  // (It would be harmless — the same Idempotency-Key gets the same order — but it is a wasted request.)
  const placing = useRef(false);
  const place = useMutation({
    mutationFn: () =>
      orders.place({ items: lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })) }, idempotencyKey),
    onSuccess: (order) => {
      // Show the accepted order at once, but never over a newer state a live event already
      // brought (an order is often PLACED within milliseconds of its 202), and read it again.
      qc.setQueryData<typeof order>(['order', order.id], (seen) =>
        seen && seen.version >= order.version ? seen : order,
      );
      void qc.invalidateQueries({ queryKey: ['order', order.id] });
      void qc.invalidateQueries({ queryKey: ['orders'] });
      clear();
      navigate(`/orders/${order.id}`);
    },
  });
  if (lines.length === 0) {
    return (
      <section>
        <h1 className="mb-4 text-2xl font-semibold">Cart</h1>
        <Empty>Your cart is empty. <Link className="text-indigo-700 underline" to="/">Browse the catalog</Link>.</Empty>
      </section>
    );
  }
  const currency = lines[0].price.currency;
  const total = lines.reduce((n, l) => n + l.price.amount * l.quantity, 0);
  const lineFields = lines.map((_, i) => `items[${i}]`);
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Cart</h1>
      <ErrorBox error={formError(place.error, lineFields)} />
      <ul className="my-4 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
        {lines.map((l, i) => {
          const err = fieldError(place.error, `items[${i}]`);
          return (
            <li key={l.productId} className="flex flex-wrap items-center gap-3 p-3">
              <span className="flex-1 font-medium">{l.name}</span>
              <label className="flex items-center gap-1 text-sm">
                Quantity
                <input
                  type="number" min={1} max={1000} value={l.quantity}
                  onChange={(e) => setQuantity(l.productId, Number(e.target.value))}
                  className="w-20 rounded-md border border-slate-300 px-2 py-1"
                  aria-invalid={err ? true : undefined}
                />
              </label>
              <span className="w-24 text-right">{formatMoney({ amount: l.price.amount * l.quantity, currency: l.price.currency })}</span>
              <Button variant="secondary" onClick={() => remove(l.productId)} aria-label={`Remove ${l.name}`}>Remove</Button>
              {err && <p role="alert" className="w-full text-sm text-red-600">{err}</p>}
            </li>
          );
        })}
      </ul>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <span className="text-lg font-semibold">Total {formatMoney({ amount: total, currency })}</span>
        {user ? (
          <Button
            onClick={() => {
              if (placing.current) return;
              placing.current = true;
              place.mutate(undefined, { onSettled: () => void (placing.current = false) });
            }}
            disabled={place.isPending}
          >
            {place.isPending ? 'Placing order…' : 'Place order'}
          </Button>
        ) : (
          <Link className="text-indigo-700 underline" to="/login?next=/cart">Sign in to place your order</Link>
        )}
      </div>
    </section>
  );
}
