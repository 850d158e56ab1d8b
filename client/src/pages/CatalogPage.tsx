import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { products } from '../api';
import type { Product, ProductSort } from '../api/types';
import { MAX_LINE_QUANTITY, useCart } from '../cart/CartContext';
import { useFeedback } from '../components/feedback';
import { PageHeading } from '../components/page';
import { Button, Empty, ErrorBox, Loading, Money, StockBadge } from '../components/ui';
import { CursorPager, useCursorList } from '../components/pager';

const PER_PAGE = 12;

export const SORTS: { value: ProductSort; label: string }[] = [
  { value: 'newest', label: 'Newest' },
  { value: 'name', label: 'Name, A to Z' },
  { value: 'price_asc', label: 'Price, low to high' },
  { value: 'price_desc', label: 'Price, high to low' },
  { value: 'stock_asc', label: 'Stock, lowest first' },
];

/** The product's picture, cropped to the same square everywhere (or a placeholder saying why there is none). */
export function ProductImage({ p, className = '' }: { p: Product; className?: string }) {
  return (
    <div className={`flex aspect-square items-center justify-center overflow-hidden bg-slate-100 ${className}`}>
      {p.image.status === 'ready' && p.image.url ? (
        <img src={p.image.url} alt={p.name} className="h-full w-full object-cover object-center" loading="lazy" />
      ) : (
        <span className="p-2 text-center text-xs text-slate-600">{p.image.status === 'pending' ? 'Image processing…' : 'No image'}</span>
      )}
    </div>
  );
}

/** "Add to cart" that never puts more in the cart than the stock shown. */
export function AddToCart({ p, quantity = 1, onAdded }: { p: Product; quantity?: number; onAdded?(): void }) {
  const { add, quantityOf } = useCart();
  const { toast } = useFeedback();
  const inCart = quantityOf(p.id);
  const out = p.stock <= 0;
  // The stock shown, and the API's limit per order line.
  const cap = Math.min(p.stock, MAX_LINE_QUANTITY);
  const full = !out && inCart >= cap;
  // The visible words start the button's name, and the product's name (for screen readers) completes it.
  const hidden = (text: string) => <span className="sr-only">{text}</span>;
  return (
    <div className="flex flex-col gap-1">
      <Button
        disabled={out || full}
        onClick={() => {
          const now = add({ productId: p.id, name: p.name, price: p.price, imageUrl: p.image.url }, quantity, cap);
          const wanted = inCart + quantity;
          toast(now < wanted
            ? (cap < p.stock
              ? `At most ${MAX_LINE_QUANTITY} of ${p.name} per order: your cart has ${now}.`
              : `Only ${p.stock} of ${p.name} in stock: your cart has ${now}.`)
            : `${p.name} added to the cart (${now} in all).`);
          onAdded?.();
        }}
      >
        {/* One span: the button is a flex box, which would drop the spaces between separate pieces. */}
        <span>
          {out ? <>Out of stock{hidden(` ${p.name}`)}</>
            : full ? <>{cap < p.stock ? `${cap}, the most per order,` : `All ${p.stock}`}{hidden(` of ${p.name}`)} in your cart</>
              : <>Add{hidden(` ${p.name}`)} to cart</>}
        </span>
      </Button>
      {inCart > 0 && !full && <span className="text-xs text-slate-600">{inCart} in your cart</span>}
    </div>
  );
}

function ProductCard({ p }: { p: Product }) {
  return (
    <li className="flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
      <ProductImage p={p} />
      <div className="flex flex-1 flex-col gap-2 p-3">
        <h2 className="font-semibold">
          <Link to={`/products/${p.id}`} className="text-slate-900 hover:underline">{p.name}</Link>
        </h2>
        <p className="line-clamp-2 text-sm text-slate-600">{p.description}</p>
        <div className="mt-auto flex flex-wrap items-center justify-between gap-2">
          <span className="font-semibold"><Money value={p.price} /></span>
          <StockBadge product={p} />
        </div>
        <AddToCart p={p} />
      </div>
    </li>
  );
}

export function CatalogPage() {
  // Search, sort and filters live in the address: a search can be linked to and survives a reload. A new search,
  // sort or filter's address has no cursor: its first page.
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const sort = (params.get('sort') ?? 'newest') as ProductSort;
  // The checkbox follows a click at once (the address is updated in a transition).
  const [inStock, setInStock] = useState(params.get('in_stock') === 'true');
  const [draft, setDraft] = useState(q);
  const update = (next: Partial<{ q: string; sort: string; in_stock: boolean }>) => {
    const merged = { q, sort, in_stock: inStock, ...next };
    const out: Record<string, string> = {};
    if (merged.q) out.q = merged.q;
    if (merged.sort !== 'newest') out.sort = merged.sort;
    if (merged.in_stock) out.in_stock = 'true';
    setParams(out, { replace: true });
  };
  const { list: query, pager } = useCursorList({
    queryKey: ['products', { q, inStock, sort }],
    queryFn: (cursor) => products.list({ q, cursor, per_page: PER_PAGE, in_stock: inStock || undefined, sort }),
    // Images are processed after a product is created: look again until they are ready.
    refetchInterval: (data) => (data?.items.some((p) => p.image.status === 'pending') ? 3_000 : false),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update({ q: draft.trim() });
  };
  return (
    <section>
      <PageHeading title="Catalog" className="mb-4" />
      <form role="search" onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-2">
        <label className="min-w-0 flex-1 basis-48 text-sm">
          <span className="sr-only">Search products</span>
          <input type="search" placeholder="Search by name or SKU" value={draft} onChange={(e) => setDraft(e.target.value)}
            className="w-full rounded-md border border-slate-300 bg-white px-3 py-2" />
        </label>
        <Button type="submit">Search</Button>
        <label className="flex items-center gap-1 text-sm">
          Sort
          <select value={sort} onChange={(e) => update({ sort: e.target.value })}
            className="rounded-md border border-slate-300 bg-white px-2 py-2 text-sm">
            {SORTS.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
          </select>
        </label>
        <label className="flex items-center gap-1 text-sm">
          <input type="checkbox" checked={inStock} onChange={(e) => { setInStock(e.target.checked); update({ in_stock: e.target.checked }); }} />
          In stock only
        </label>
      </form>
      {query.isPending ? (
        <Loading label="Loading products…" />
      ) : query.isError ? (
        <ErrorBox error={query.error} />
      ) : (
        <>
          {query.data.items.length === 0 ? (
            <Empty>{pager.page > 1 ? 'No more products.' : q ? `No products match “${q}”.` : 'No products yet.'}</Empty>
          ) : (
            <ul aria-label="Products" className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
              {query.data.items.map((p) => <ProductCard key={p.id} p={p} />)}
            </ul>
          )}
          <CursorPager pager={pager} label="Pages of products" />
        </>
      )}
    </section>
  );
}
