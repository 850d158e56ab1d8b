import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { products } from '../api';
import { MAX_LINE_QUANTITY, useCart } from '../cart/CartContext';
import { QuantityStepper } from '../components/inputs';
import { PageHeading } from '../components/page';
import { ErrorBox, Loading, Money, StockBadge } from '../components/ui';
import { AddToCart, ProductImage } from './CatalogPage';

/** A product for shoppers: its picture, description, price and stock, and a quantity to add. */
export function ProductPage() {
  const { id = '' } = useParams();
  const { quantityOf } = useCart();
  const [quantity, setQuantity] = useState(1);
  const q = useQuery({ queryKey: ['product', id], queryFn: () => products.get(id) });
  if (q.isPending) return <Loading label="Loading product…" />;
  if (q.isError) {
    return (
      <section className="space-y-3">
        <PageHeading title="Product not found" />
        <ErrorBox error={q.error} />
        <Link to="/" className="text-indigo-700 underline">Back to the catalog</Link>
      </section>
    );
  }
  const p = q.data;
  // The stock shown, and the API's limit per order line (LineIn.quantity's maximum).
  const room = Math.max(0, Math.min(p.stock, MAX_LINE_QUANTITY) - quantityOf(p.id));
  return (
    <section className="space-y-4">
      <Link to="/" className="text-sm text-indigo-700 underline">← Catalog</Link>
      <div className="grid grid-cols-1 gap-6 md:grid-cols-2">
        <ProductImage p={p} className="rounded-lg border border-slate-200" />
        <div className="space-y-3">
          <PageHeading title={p.name} />
          <p className="text-2xl font-semibold"><Money value={p.price} /></p>
          <p><StockBadge product={p} /></p>
          <p className="whitespace-pre-line text-slate-700">{p.description || 'No description.'}</p>
          <p className="text-xs text-slate-600">SKU {p.sku}</p>
          {room > 0 && (
            <QuantityStepper label="Quantity" value={Math.min(quantity, room)} max={room} onChange={setQuantity} />
          )}
          <AddToCart p={p} quantity={Math.min(quantity, Math.max(room, 1))} onAdded={() => setQuantity(1)} />
        </div>
      </div>
    </section>
  );
}
