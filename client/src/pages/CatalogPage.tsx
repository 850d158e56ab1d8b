import { useState, type FormEvent } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { products } from '../api';
import type { Product } from '../api/types';
import { useCart } from '../cart/CartContext';
import { Button, Empty, ErrorBox, Loading, Money, Pager, StockBadge } from '../components/ui';

const PER_PAGE = 12;

function ProductCard({ p }: { p: Product }) {
  const { add } = useCart();
  const [added, setAdded] = useState(false);
  const out = p.stock <= 0;
  return (
    <li className="flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
      <div className="flex aspect-[4/3] items-center justify-center bg-slate-100">
        {p.image.status === 'ready' && p.image.url ? (
          <img src={p.image.url} alt={p.name} className="h-full w-full object-cover" loading="lazy" />
        ) : (
          <span className="text-xs text-slate-400">{p.image.status === 'pending' ? 'Image processing…' : 'No image'}</span>
        )}
      </div>
      <div className="flex flex-1 flex-col gap-2 p-3">
        <h2 className="font-semibold">{p.name}</h2>
        <p className="line-clamp-2 text-sm text-slate-600">{p.description}</p>
        <div className="mt-auto flex items-center justify-between">
          <span className="font-semibold"><Money value={p.price} /></span>
          <StockBadge product={p} />
        </div>
        <Button
          disabled={out}
          aria-label={`Add ${p.name} to cart`}
          onClick={() => {
            add({ productId: p.id, name: p.name, price: p.price });
            setAdded(true);
          }}
        >
          {out ? 'Out of stock' : added ? 'Added ✓ — add another' : 'Add to cart'}
        </Button>
      </div>
    </li>
  );
}

export function CatalogPage() {
  const [draft, setDraft] = useState('');
  const [q, setQ] = useState('');
  const [inStock, setInStock] = useState(false);
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ['products', { q, page, inStock }],
    queryFn: () => products.list({ q, page, per_page: PER_PAGE, in_stock: inStock || undefined }),
    placeholderData: keepPreviousData,
    // Images are processed after a product is created: look again until they are ready.
    refetchInterval: (query) => (query.state.data?.items.some((p) => p.image.status === 'pending') ? 3_000 : false),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQ(draft.trim());
    setPage(1);
  };
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Catalog</h1>
      <form role="search" onSubmit={submit} className="mb-4 flex flex-wrap items-end gap-2">
        <label className="flex-1 text-sm">
          <span className="sr-only">Search products</span>
          <input
            type="search"
            placeholder="Search by name or SKU"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            className="w-full rounded-md border border-slate-300 px-3 py-2"
          />
        </label>
        <label className="flex items-center gap-1 text-sm">
          <input type="checkbox" checked={inStock} onChange={(e) => { setInStock(e.target.checked); setPage(1); }} />
          In stock only
        </label>
        <Button type="submit">Search</Button>
      </form>
      {query.isPending ? (
        <Loading label="Loading products…" />
      ) : query.isError ? (
        <ErrorBox error={query.error} />
      ) : query.data.items.length === 0 ? (
        <Empty>{q ? `No products match “${q}”.` : 'No products yet.'}</Empty>
      ) : (
        <>
          <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
            {query.data.items.map((p) => <ProductCard key={p.id} p={p} />)}
          </ul>
          <Pager page={page} perPage={PER_PAGE} total={query.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
