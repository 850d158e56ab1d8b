import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { products } from '../../api';
import type { Product } from '../../api/types';
import { fieldError, formError } from '../../api/errors';
import { Button, Empty, ErrorBox, ImageStateBadge, Loading, Pager, StockBadge, TextArea, TextField, formatTime } from '../../components/ui';
import { ImagePicker } from './ImagePicker';

function EditProduct({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [v, setV] = useState({ name: p.name, description: p.description, price: (p.price.amount / 100).toFixed(2) });
  const [saved, setSaved] = useState(false);
  const m = useMutation({
    mutationFn: (patch: Parameters<typeof products.patch>[1]) => products.patch(p.id, patch),
    onSuccess: (np) => {
      qc.setQueryData(['product', p.id], np);
      void qc.invalidateQueries({ queryKey: ['products'] });
      setSaved(true);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    m.mutate({ name: v.name, description: v.description, price: Math.round(Number(v.price) * 100) });
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Edit product" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Details</h2>
      <ErrorBox error={formError(m.error, ['name', 'description', 'price', 'active'])} />
      <TextField label="Name" value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} error={fieldError(m.error, 'name')} />
      <TextField label={`Price (${p.price.currency})`} type="number" step="0.01" min="0" value={v.price}
        onChange={(e) => setV({ ...v, price: e.target.value })} error={fieldError(m.error, 'price')} />
      <TextArea label="Description" rows={3} value={v.description} onChange={(e) => setV({ ...v, description: e.target.value })} error={fieldError(m.error, 'description')} />
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" disabled={m.isPending}>Save</Button>
        <Button type="button" variant={p.active ? 'danger' : 'secondary'} disabled={m.isPending}
          onClick={() => { setSaved(false); m.mutate({ active: !p.active }); }}>
          {p.active ? 'Deactivate' : 'Activate'}
        </Button>
        <span className="text-sm">{p.active ? 'Active: shown in the catalog' : 'Inactive: hidden from shoppers'}</span>
        {saved && <span role="status" className="text-sm text-green-700">Saved.</span>}
      </div>
    </form>
  );
}

function ImageSection({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const m = useMutation({
    mutationFn: (f: File | null) => { setProgress(f ? 0 : null); return products.replaceImage(p.id, f, setProgress); },
    onSuccess: () => { setFile(null); void qc.invalidateQueries({ queryKey: ['product', p.id] }); },
    onSettled: () => setProgress(null),
  });
  return (
    <div className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Image</h2>
      <ImageStateBadge status={p.image.status} error={p.image.error} />
      {p.image.status === 'ready' && p.image.url && (
        <img src={p.image.url} alt={p.name} className="h-40 w-40 rounded object-cover" />
      )}
      {p.image.status === 'failed' && (
        <Button variant="secondary" disabled={m.isPending} onClick={() => m.mutate(null)}>Retry upload</Button>
      )}
      <ImagePicker file={file} onFile={setFile} progress={progress} error={fieldError(m.error, 'image')} />
      <ErrorBox error={formError(m.error, ['image'])} />
      <Button disabled={!file || m.isPending} onClick={() => m.mutate(file)}>Upload new image</Button>
    </div>
  );
}

function StockSection({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  const [done, setDone] = useState(false);
  const m = useMutation({
    mutationFn: () => products.adjustStock(p.id, { delta: Number(delta), reason }),
    onSuccess: () => {
      setDelta(''); setReason(''); setDone(true);
      // The stock worker applies the change shortly after the 202.
      setTimeout(() => {
        void qc.invalidateQueries({ queryKey: ['product', p.id] });
        void qc.invalidateQueries({ queryKey: ['ledger', p.id] });
      }, 800);
    },
  });
  return (
    <form noValidate aria-label="Adjust stock" onSubmit={(e) => { e.preventDefault(); setDone(false); m.mutate(); }}
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Stock: {p.stock} <StockBadge product={p} /></h2>
      <ErrorBox error={formError(m.error, ['delta', 'reason'])} />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <TextField label="Change (+ restock, − correction)" type="number" value={delta} onChange={(e) => setDelta(e.target.value)} error={fieldError(m.error, 'delta')} />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError(m.error, 'reason')} />
      </div>
      <Button type="submit" disabled={m.isPending}>Adjust stock</Button>
      {done && <p role="status" className="text-sm text-green-700">Adjustment accepted; the ledger updates when it is applied.</p>}
    </form>
  );
}

function Ledger({ id }: { id: string }) {
  const [page, setPage] = useState(1);
  const q = useQuery({ queryKey: ['ledger', id, page], queryFn: () => products.ledger(id, page), placeholderData: keepPreviousData });
  if (q.isPending) return <Loading label="Loading ledger…" />;
  if (q.isError) return <ErrorBox error={q.error} />;
  if (q.data.items.length === 0) return <Empty>No ledger entries.</Empty>;
  return (
    <div>
      <div className="overflow-x-auto">
        <table className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          <caption className="p-2 text-left font-semibold">Stock ledger</caption>
          <thead className="bg-slate-50 text-left">
            <tr><th className="p-2">When</th><th className="p-2">Kind</th><th className="p-2">Change</th><th className="p-2">Balance</th><th className="p-2">Order / actor</th><th className="p-2">Reason</th></tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {q.data.items.map((e) => (
              <tr key={e.id}>
                <td className="p-2">{formatTime(e.at)}</td><td className="p-2">{e.kind}</td>
                <td className={`p-2 ${e.delta < 0 ? 'text-red-700' : 'text-green-700'}`}>{e.delta > 0 ? `+${e.delta}` : e.delta}</td>
                <td className="p-2">{e.balance_after}</td>
                <td className="p-2 font-mono text-xs">{e.order_id ? <Link className="underline" to={`/orders/${e.order_id}`}>{e.order_id}</Link> : e.actor}</td>
                <td className="p-2">{e.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={page} perPage={20} total={q.data.total} onPage={setPage} />
    </div>
  );
}

export function AdminProductPage() {
  const { id = '' } = useParams();
  const q = useQuery({
    queryKey: ['product', id],
    queryFn: () => products.get(id),
    // Follow the image worker until the image is ready or failed.
    refetchInterval: (query) => (query.state.data?.image.status === 'pending' ? 1000 : false),
  });
  if (q.isPending) return <Loading label="Loading product…" />;
  if (q.isError) return <ErrorBox error={q.error} />;
  const p = q.data;
  return (
    <section className="space-y-4">
      <Link to="/admin/products" className="text-sm text-indigo-700 underline">← Products</Link>
      <h1 className="text-2xl font-semibold">{p.name} <span className="font-mono text-base text-slate-500">{p.sku}</span></h1>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <EditProduct key={p.id} p={p} />
        <ImageSection p={p} />
      </div>
      <StockSection p={p} />
      <Ledger id={p.id} />
    </section>
  );
}
