import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { products } from '../../api';
import { fieldError, formError } from '../../api/errors';
import { Button, Empty, ErrorBox, ImageStateBadge, Loading, Money, Pager, StockBadge, TextArea, TextField } from '../../components/ui';
import { ImagePicker } from './ImagePicker';

const FIELDS = ['name', 'description', 'sku', 'price', 'currency', 'stock', 'image'];

function CreateProduct() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [v, setV] = useState({ name: '', description: '', sku: '', price: '', currency: 'USD', stock: '0' });
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  const m = useMutation({
    mutationFn: () => {
      const form = new FormData();
      form.append('name', v.name);
      form.append('description', v.description);
      form.append('sku', v.sku);
      // Prices are typed in major units and sent in minor units.
      form.append('price', v.price === '' ? '' : String(Math.round(Number(v.price) * 100)));
      form.append('currency', v.currency);
      form.append('stock', v.stock);
      if (file) form.append('image', file);
      setProgress(file ? 0 : null);
      return products.create(form, setProgress);
    },
    onSuccess: (p) => {
      void qc.invalidateQueries({ queryKey: ['products'] });
      navigate(`/admin/products/${p.id}`);
    },
    onSettled: () => setProgress(null),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-2" aria-label="New product">
      <h2 className="text-lg font-semibold sm:col-span-2">New product</h2>
      <div className="sm:col-span-2"><ErrorBox error={formError(m.error, FIELDS)} /></div>
      <TextField label="Name" value={v.name} onChange={set('name')} required error={fieldError(m.error, 'name')} />
      <TextField label="SKU" value={v.sku} onChange={set('sku')} required error={fieldError(m.error, 'sku')} />
      <TextField label="Price" type="number" min="0" step="0.01" inputMode="decimal" value={v.price} onChange={set('price')} required error={fieldError(m.error, 'price')} />
      <TextField label="Currency" value={v.currency} onChange={set('currency')} maxLength={3} error={fieldError(m.error, 'currency')} />
      <TextField label="Initial stock" type="number" min="0" value={v.stock} onChange={set('stock')} error={fieldError(m.error, 'stock')} />
      <div className="sm:col-span-2"><TextArea label="Description" value={v.description} onChange={set('description')} rows={3} error={fieldError(m.error, 'description')} /></div>
      <div className="sm:col-span-2"><ImagePicker file={file} onFile={setFile} progress={progress} error={fieldError(m.error, 'image')} /></div>
      <div className="sm:col-span-2"><Button type="submit" disabled={m.isPending}>{m.isPending ? 'Creating…' : 'Create product'}</Button></div>
    </form>
  );
}

export function AdminProductsPage() {
  const [page, setPage] = useState(1);
  const [q, setQ] = useState('');
  const list = useQuery({
    queryKey: ['products', 'admin', { page, q }],
    queryFn: () => products.list({ page, q, per_page: 20, include_inactive: true }),
    placeholderData: keepPreviousData,
  });
  return (
    <section className="space-y-6">
      <h1 className="text-2xl font-semibold">Products</h1>
      <CreateProduct />
      <div>
        <label className="mb-2 block text-sm">
          Filter
          <input type="search" value={q} onChange={(e) => { setQ(e.target.value); setPage(1); }}
            className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 sm:w-80" />
        </label>
        {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : list.data.items.length === 0 ? (
          <Empty>No products yet. Create the first one above.</Empty>
        ) : (
          <>
            <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
              {list.data.items.map((p) => (
                <li key={p.id} className="flex flex-wrap items-center gap-3 p-3 text-sm">
                  <Link to={`/admin/products/${p.id}`} className="flex-1 font-medium text-indigo-700 underline">{p.name}</Link>
                  <span className="font-mono text-xs">{p.sku}</span>
                  <Money value={p.price} />
                  <StockBadge product={p} />
                  <span>{p.stock} in stock</span>
                  <ImageStateBadge status={p.image.status} />
                  {!p.active && <span className="rounded bg-slate-200 px-2 text-xs">inactive</span>}
                </li>
              ))}
            </ul>
            <Pager page={page} perPage={20} total={list.data.total} onPage={setPage} />
          </>
        )}
      </div>
    </section>
  );
}
