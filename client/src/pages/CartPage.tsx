import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueries, useQueryClient } from '@tanstack/react-query';
import { orders, products } from '../api';
import type { Product } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { MAX_LINE_QUANTITY, useCart, type CartLine } from '../cart/CartContext';
import { fieldError, formError } from '../api/errors';
import { QuantityStepper } from '../components/inputs';
import { PageHeading } from '../components/page';
import { Button, Empty, ErrorBox, formatMoney } from '../components/ui';

/** What the cart can hold of a line now: the product's current stock (and the API's limit per line). */
function limitOf(p: Product | undefined): number {
  if (!p) return MAX_LINE_QUANTITY;
  return p.active ? Math.min(Math.max(p.stock, 0), MAX_LINE_QUANTITY) : 0;
}

function CartItem({ line, product, error, onValidity, sending }: {
  line: CartLine;
  product: Product | undefined;
  error?: string;
  onValidity(productId: string, ok: boolean): void;
  /** The cart is being (or has been) sent as an order: its own reservation lowers the stock. */
  sending: boolean;
}) {
  const { setQuantity, remove } = useCart();
  const max = limitOf(product);
  const [capped, setCapped] = useState<string | null>(null);
  // Fewer in stock than in the cart (someone else bought some): lower the line, and say so. Not
  // while this cart's own order is on its way: it is often PLACED before its 202 is read, and the
  // stock it took must not rewrite the cart (that would also forget the order the cart was sent as).
  useEffect(() => {
    if (!sending && product && max >= 1 && line.quantity > max) {
      setQuantity(line.productId, max);
      setCapped(`Only ${max} left in stock: the quantity was lowered to ${max}.`);
    }
  }, [sending, product, max, line.quantity, line.productId, setQuantity]);
  const gone = product !== undefined && max < 1;
  useEffect(() => onValidity(line.productId, !gone), [gone, line.productId, onValidity]);
  // A removed line blocks nothing.
  useEffect(() => () => {
    onValidity(line.productId, true);
    onValidity(`${line.productId}:qty`, true);
  }, [line.productId, onValidity]);
  const price = product?.price ?? line.price;
  return (
    <li className="flex flex-wrap items-start gap-3 p-3" data-testid="cart-line">
      <div className="min-w-0 flex-1 basis-40">
        <Link to={`/products/${line.productId}`} className="font-medium text-slate-900 hover:underline">{line.name}</Link>
        <p className="text-sm text-slate-600">{formatMoney(price)} each{product && max >= 1 ? ` · ${product.stock} in stock` : ''}</p>
        {gone && <p role="alert" className="text-sm text-red-700">{product?.active ? 'Out of stock now.' : 'No longer for sale.'} Remove it to place your order.</p>}
        {capped && !gone && <p role="status" className="text-sm text-amber-800">{capped}</p>}
      </div>
      {!gone && (
        <QuantityStepper label={`Quantity of ${line.name}`} value={line.quantity} max={max} error={error}
          onChange={(n) => { setCapped(null); setQuantity(line.productId, n); }}
          onCapped={(m) => setCapped(`Only ${m} in stock: the quantity was set to ${m}.`)}
          onValidity={(ok) => onValidity(`${line.productId}:qty`, ok)} />
      )}
      {/* Named in words for screen readers (an aria-label on a span, which has no role, is not announced, and axe
          leaves it for a person to review). */}
      <span className="w-24 text-right font-medium">
        <span className="sr-only">Line total of {line.name}: </span>
        <span data-testid="line-total">{formatMoney({ amount: price.amount * line.quantity, currency: price.currency })}</span>
      </span>
      <Button variant="secondary" onClick={() => remove(line.productId)} aria-label={`Remove ${line.name}`}>Remove</Button>
    </li>
  );
}

export function CartPage() {
  const { lines, idempotencyKey, sent, pendingOrder } = useCart();
  const { user } = useAuth();
  const navigate = useNavigate();
  const qc = useQueryClient();
  // The products as they are now: stock bounds each line, prices may have changed since they were added.
  const current = useQueries({
    queries: lines.map((l) => ({ queryKey: ['product', l.productId], queryFn: () => products.get(l.productId), staleTime: 5_000 })),
  });
  const [invalid, setInvalid] = useState<Set<string>>(new Set());
  const onValidity = useCallback((key: string, ok: boolean) => {
    setInvalid((s) => {
      if (ok === !s.has(key)) return s;
      const next = new Set(s);
      if (ok) next.delete(key);
      else next.add(key);
      return next;
    });
  }, []);
  // A double click lands before React disables the button: the second click must not send again.
  const placing = useRef(false);
  const place = useMutation({
    mutationFn: () =>
      orders.place({ items: lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })) }, idempotencyKey),
    onSuccess: (order) => {
      // Show the accepted order at once, but never over a newer state a live event already
      // brought (an order is often PLACED within milliseconds of its 202), and read it again.
      qc.setQueryData<typeof order>(['order', order.id], (seen) => (seen && seen.version >= order.version ? seen : order));
      void qc.invalidateQueries({ queryKey: ['order', order.id] });
      void qc.invalidateQueries({ queryKey: ['orders'] });
      // The cart is emptied once the order is PLACED; a rejected order leaves it here to be fixed.
      sent(order.id);
      navigate(`/orders/${order.id}`);
    },
  });
  if (lines.length === 0) {
    return (
      <section>
        <PageHeading title="Cart" className="mb-4" />
        <Empty>Your cart is empty. <Link className="text-indigo-700 underline" to="/">Browse the catalog</Link>.</Empty>
      </section>
    );
  }
  const priced = lines.map((l, i) => current[i]?.data?.price ?? l.price);
  const currencies = new Set(priced.map((p) => p.currency));
  const total = lines.reduce((n, l, i) => n + priced[i].amount * l.quantity, 0);
  const lineFields = lines.map((_, i) => `items[${i}]`);
  const blocked = invalid.size > 0;
  return (
    <section>
      <PageHeading title="Cart" className="mb-4" />
      {pendingOrder && (
        <p role="status" className="mb-3 rounded-md border border-slate-200 bg-white p-3 text-sm">
          These items were sent as <Link className="text-indigo-700 underline" to={`/orders/${pendingOrder}`}>your last order</Link>;
          the cart empties once it is placed.
        </p>
      )}
      <ErrorBox error={formError(place.error, lineFields)} />
      <ul aria-label="Cart items" className="my-4 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
        {lines.map((l, i) => (
          // Once sent from here, this page is being left for the order's: the navigation may still be
          // under way when the order is decided (REJECTED clears `pendingOrder`) and the stock read
          // again, and the lines must stay as they were sent (a new visit lowers them, and says so).
          <CartItem key={l.productId} line={l} product={current[i]?.data} sending={place.isPending || place.isSuccess || !!pendingOrder}
            error={fieldError(place.error, `items[${i}]`)} onValidity={onValidity} />
        ))}
      </ul>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <span className="text-lg font-semibold">
          Total {currencies.size === 1 ? formatMoney({ amount: total, currency: priced[0].currency }) : 'in several currencies'}
        </span>
        {user ? (
          <Button
            onClick={() => {
              if (placing.current || blocked) return;
              placing.current = true;
              place.mutate(undefined, { onSettled: () => void (placing.current = false) });
            }}
            disabled={place.isPending || blocked}
          >
            {place.isPending ? 'Placing order…' : 'Place order'}
          </Button>
        ) : (
          <Link className="text-indigo-700 underline" to="/login?next=/cart">Sign in to place your order</Link>
        )}
      </div>
      {blocked && <p className="mt-2 text-sm text-red-700">Fix the items marked above to place your order.</p>}
    </section>
  );
}
