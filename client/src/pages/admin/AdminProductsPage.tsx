import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { products } from '../../api';
import type { ProductSort } from '../../api/types';
import { fieldError, formError } from '../../api/errors';
import { LIMITS } from '../../api/limits';
import { parseMoney } from '../../money';
import { DataTable } from '../../components/DataTable';
import { useFeedback } from '../../components/feedback';
import { MoneyField } from '../../components/inputs';
import { PageHeading, useFocusFirstInvalid } from '../../components/page';
import { Button, Empty, ErrorBox, ImageStateBadge, Loading, Money, StockBadge, TextArea, TextField } from '../../components/ui';
import { CursorPager, useCursorList } from '../../components/pager';
import { ProductImage, SORTS } from '../CatalogPage';
import { ImagePicker } from './ImagePicker';

const PER_PAGE = 20;

const FIELDS = ['name', 'description', 'sku', 'price', 'currency', 'stock', 'image'];

/** The page's own checks, all at once, before anything is sent; the server checks again. */
function check(v: { name: string; sku: string; price: string; currency: string; stock: string }) {
  const errors: Record<string, string> = {};
  const currency = v.currency.trim().toUpperCase();
  if (!v.name.trim()) errors.name = 'Name is required.';
  if (!v.sku.trim()) errors.sku = 'SKU is required.';
  if (!/^[A-Z]{3}$/.test(currency)) errors.currency = 'Use a three-letter currency code such as USD or EUR.';
  const price = parseMoney(v.price, /^[A-Z]{3}$/.test(currency) ? currency : 'USD');
  if (!price.ok) errors.price = price.error;
  if (!/^\d+$/.test(v.stock.trim())) errors.stock = 'Enter a whole number of units, 0 or more.';
  else if (Number(v.stock.trim()) > LIMITS.product.stock.maximum) errors.stock = `At most ${LIMITS.product.stock.maximum.toLocaleString()} units.`;
  return { errors, price: price.ok ? price.minor : null, currency };
}

function CreateProduct() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const { toast } = useFeedback();
  const formRef = useRef<HTMLFormElement>(null);
  const [v, setV] = useState({ name: '', description: '', sku: '', price: '', currency: 'USD', stock: '0' });
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  // Counts refused submits, so that each one takes the focus to the first field to fix.
  const [refused, setRefused] = useState(0);
  useFocusFirstInvalid(formRef, refused || null);
  // Editing a field clears the page's own complaint about it (the field checks itself again as it is typed).
  const change = (k: keyof typeof v, value: string) => {
    setV({ ...v, [k]: value });
    setLocal(({ [k]: _, ...rest }) => rest);
  };
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => change(k, e.target.value);
  const m = useMutation({
    mutationFn: ({ price, currency }: { price: number; currency: string }) => {
      const form = new FormData();
      form.append('name', v.name);
      form.append('description', v.description);
      form.append('sku', v.sku);
      // Typed in major units, sent in minor units (the currency's own decimals).
      form.append('price', String(price));
      form.append('currency', currency);
      form.append('stock', v.stock.trim());
      if (file) form.append('image', file);
      setProgress(file ? 0 : null);
      return products.create(form, setProgress);
    },
    onSuccess: (p) => {
      void qc.invalidateQueries({ queryKey: ['products'] });
      toast(`${p.name} created.`);
      navigate(`/admin/products/${p.id}`);
    },
    onError: () => setRefused((n) => n + 1),
    onSettled: () => setProgress(null),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { errors, price, currency } = check(v);
    setLocal(errors);
    m.reset();
    if (Object.keys(errors).length > 0 || price === null) return setRefused((n) => n + 1);
    m.mutate({ price, currency });
  };
  const error = (k: string) => local[k] ?? fieldError(m.error, k);
  return (
    <form ref={formRef} onSubmit={submit} noValidate className="grid grid-cols-1 gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2" aria-label="New product">
      <h2 className="text-lg font-semibold sm:col-span-2">New product</h2>
      <div className="sm:col-span-2"><ErrorBox error={formError(m.error, FIELDS)} /></div>
      <TextField label="Name" value={v.name} onChange={set('name')} required maxLength={LIMITS.product.name.maxLength} error={error('name')} />
      <TextField label="SKU" value={v.sku} onChange={set('sku')} required maxLength={LIMITS.product.sku.maxLength} error={error('sku')}
        hint={`Letters, digits, - _ . (unique, at most ${LIMITS.product.sku.maxLength})`} />
      <MoneyField label="Price" value={v.price} currency={v.currency.trim().toUpperCase()} onChange={(price) => change('price', price)} error={error('price')} />
      <TextField label="Currency" value={v.currency} onChange={set('currency')} maxLength={3} error={error('currency')} hint="ISO 4217, e.g. USD, EUR, JPY" />
      <TextField label="Initial stock" inputMode="numeric" value={v.stock} onChange={set('stock')} error={error('stock')}
        hint={`0 to ${LIMITS.product.stock.maximum.toLocaleString()} units`} />
      <div className="sm:col-span-2"><TextArea label="Description" value={v.description} onChange={set('description')} rows={3}
        maxLength={LIMITS.product.description.maxLength} hint={`At most ${LIMITS.product.description.maxLength.toLocaleString()} characters`} error={error('description')} /></div>
      <div className="sm:col-span-2"><ImagePicker file={file} onFile={setFile} progress={progress} error={error('image')} /></div>
      <div className="sm:col-span-2"><Button type="submit" disabled={m.isPending}>{m.isPending ? 'Creating…' : 'Create product'}</Button></div>
    </form>
  );
}

export function AdminProductsPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const sort = (params.get('sort') ?? 'newest') as ProductSort;
  // A new filter or sort's address has no cursor: its first page.
  const update = (next: Partial<{ q: string; sort: string }>) => {
    const merged = { q, sort, ...next };
    const out: Record<string, string> = {};
    if (merged.q) out.q = merged.q;
    if (merged.sort !== 'newest') out.sort = merged.sort;
    setParams(out, { replace: true });
  };
  const { list, pager } = useCursorList({
    queryKey: ['products', 'admin', { q, sort }],
    queryFn: (cursor) => products.list({ cursor, q, sort, per_page: PER_PAGE, include_inactive: true }),
  });
  return (
    <section className="space-y-6">
      <PageHeading title="Products" />
      <CreateProduct />
      <div>
        <div className="mb-3 flex flex-wrap items-end gap-3">
          <label className="block min-w-0 flex-1 basis-48 text-sm">
            Filter
            <input type="search" value={q} onChange={(e) => update({ q: e.target.value })} placeholder="Name or SKU"
              className="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 sm:w-80" />
          </label>
          <label className="block text-sm">
            Sort
            <select value={sort} onChange={(e) => update({ sort: e.target.value })}
              className="mt-1 block rounded-md border border-slate-300 bg-white px-2 py-2 text-sm">
              {SORTS.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
            </select>
          </label>
        </div>
        {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : list.data.items.length === 0 ? (
          <>
            <Empty>{pager.page > 1 ? 'No more products.' : q ? `No products match “${q}”.` : 'No products yet. Create the first one above.'}</Empty>
            <CursorPager pager={pager} label="Pages of products" />
          </>
        ) : (
          <>
            <DataTable
              label="Products"
              rows={list.data.items}
              rowKey={(p) => p.id}
              rowClassName={(p) => (p.active ? '' : 'opacity-80')}
              columns={[
                {
                  header: 'Product', primary: true,
                  cell: (p) => (
                    <span className="flex items-center gap-2">
                      <ProductImage p={p} className="h-10 w-10 shrink-0 rounded" />
                      <Link to={`/admin/products/${p.id}`} className="font-medium text-indigo-700 underline">{p.name}</Link>
                      {!p.active && <span className="rounded bg-slate-200 px-2 text-xs text-slate-800">inactive</span>}
                    </span>
                  ),
                },
                { header: 'SKU', cell: (p) => <span className="font-mono text-xs">{p.sku}</span> },
                { header: 'Price', cell: (p) => <Money value={p.price} /> },
                { header: 'Stock', cell: (p) => <span className="flex flex-wrap items-center gap-2">{p.stock} in stock <StockBadge product={p} /></span> },
                { header: 'Image', cell: (p) => <ImageStateBadge status={p.image.status} /> },
              ]}
            />
            <CursorPager pager={pager} label="Pages of products" />
          </>
        )}
      </div>
    </section>
  );
}
