import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { products } from '../../api';
import type { AdjustmentStatusOut, Product, ProductPatch } from '../../api/types';
import { fieldError, formError } from '../../api/errors';
import { Button, Empty, ErrorBox, ImageStateBadge, Loading, Pager, StockBadge, TextArea, TextField, formatTime } from '../../components/ui';
import { ImagePicker } from './ImagePicker';

const asForm = (p: Product) => ({
  name: p.name,
  description: p.description,
  price: (p.price.amount / 100).toFixed(2),
  currency: p.price.currency,
  threshold: String(p.low_stock_threshold),
});

/** Only what the admin changed: the PATCH leaves every other field as it is. */
function changes(p: Product, v: ReturnType<typeof asForm>): ProductPatch {
  const patch: ProductPatch = {};
  const was = asForm(p);
  if (v.name !== was.name) patch.name = v.name;
  if (v.description !== was.description) patch.description = v.description;
  if (v.price !== was.price) patch.price = Math.round(Number(v.price) * 100);
  if (v.currency.trim().toUpperCase() !== was.currency) patch.currency = v.currency.trim().toUpperCase();
  // An empty threshold goes back to the deployment's default.
  if (v.threshold.trim() !== was.threshold) patch.low_stock_threshold = v.threshold.trim() === '' ? null : Number(v.threshold);
  return patch;
}

function EditProduct({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [v, setV] = useState(() => asForm(p));
  const [saved, setSaved] = useState<string | null>(null);
  const [priceError, setPriceError] = useState<string | undefined>();
  const m = useMutation({
    mutationFn: (patch: ProductPatch) => products.patch(p.id, patch),
    onSuccess: (np, patch) => {
      qc.setQueryData(['product', p.id], np);
      void qc.invalidateQueries({ queryKey: ['products'] });
      // What the server kept (it normalises, and fills the default threshold back in).
      if (patch.active === undefined) setV(asForm(np));
      setSaved(patch.active === undefined ? 'Saved.' : np.active ? 'Activated.' : 'Deactivated.');
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    // An emptied or unreadable price would otherwise be sent as null, which changes nothing.
    if (v.price.trim() === '' || !Number.isFinite(Number(v.price))) return setPriceError('Enter a price, e.g. 12.50.');
    setPriceError(undefined);
    const patch = changes(p, v);
    if (Object.keys(patch).length === 0) return setSaved('Nothing to save.');
    m.mutate(patch);
  };
  const field = (k: keyof typeof v) => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  return (
    <form onSubmit={submit} noValidate aria-label="Edit product" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Details</h2>
      <ErrorBox error={formError(m.error, ['name', 'description', 'price', 'currency', 'low_stock_threshold', 'active'])} />
      <TextField label="Name" value={v.name} onChange={field('name')} error={fieldError(m.error, 'name')} />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <TextField label="Price" type="number" step="0.01" min="0" inputMode="decimal" value={v.price}
          onChange={field('price')} error={priceError ?? fieldError(m.error, 'price')} />
        <TextField label="Currency" value={v.currency} maxLength={3} onChange={field('currency')}
          error={fieldError(m.error, 'currency')} hint="ISO 4217, e.g. USD" />
        <TextField label="Low-stock threshold" type="number" min="0" value={v.threshold} onChange={field('threshold')}
          error={fieldError(m.error, 'low_stock_threshold')} hint="Empty: the default" />
      </div>
      <TextArea label="Description" rows={3} value={v.description} onChange={field('description')} error={fieldError(m.error, 'description')} />
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" disabled={m.isPending}>Save</Button>
        <Button type="button" variant={p.active ? 'danger' : 'secondary'} disabled={m.isPending}
          onClick={() => { setSaved(null); m.mutate({ active: !p.active }); }}>
          {p.active ? 'Deactivate' : 'Activate'}
        </Button>
        <span className="text-sm" data-testid="product-active">{p.active ? 'Active: shown in the catalog' : 'Inactive: hidden from shoppers'}</span>
        {saved && <span role="status" className="text-sm text-green-700">{saved}</span>}
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
      <p><ImageStateBadge status={p.image.status} error={p.image.error} /></p>
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

/** What the page says once the stock worker has decided an adjustment. */
function decision(a: AdjustmentStatusOut): { ok: boolean; text: string } {
  if (a.status === 'applied') {
    return { ok: true, text: `Applied: ${a.delta > 0 ? '+' : ''}${a.delta}, stock is now ${a.balance_after ?? '?'}.` };
  }
  const why = a.reason?.trim() || 'the stock worker refused it';
  return { ok: false, text: `Refused: ${why}${/[.!?]$/.test(why) ? '' : '.'}` };
}

function StockSection({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  // The adjustment the stock worker has accepted (202) and the page follows until it is decided.
  const [adjustmentId, setAdjustmentId] = useState<string | null>(null);
  const m = useMutation({
    mutationFn: async () => {
      const units = Number(delta);
      // The stock worker refuses a correction below zero (after the 202); say so at once when the
      // current stock already shows it. The worker still decides.
      if (Number.isInteger(units) && units < 0) {
        const fresh = await qc.fetchQuery({ queryKey: ['product', p.id], queryFn: () => products.get(p.id), staleTime: 0 });
        if (fresh.stock + units < 0) {
          throw {
            code: 'below_zero',
            field: 'delta',
            message: `Refused: this would take the stock below zero (stock is ${fresh.stock}).`,
          };
        }
      }
      return products.adjustStock(p.id, { delta: units, reason });
    },
    onMutate: () => setAdjustmentId(null),
    onSuccess: (a) => {
      setDelta(''); setReason('');
      setAdjustmentId(a.adjustment_id);
    },
  });
  // Ask the API where the adjustment stands until the worker has applied or refused it.
  const followed = useQuery({
    queryKey: ['adjustment', p.id, adjustmentId],
    queryFn: () => products.adjustment(p.id, adjustmentId!),
    enabled: adjustmentId !== null,
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 1000 : false),
  });
  const decided = adjustmentId !== null && followed.data && followed.data.status !== 'pending' ? followed.data : undefined;
  const waiting = adjustmentId !== null && !decided && !followed.isError;
  const decidedId = decided?.adjustment_id;
  useEffect(() => {
    if (!decidedId) return;
    void qc.invalidateQueries({ queryKey: ['product', p.id] });
    void qc.invalidateQueries({ queryKey: ['ledger', p.id] });
    void qc.invalidateQueries({ queryKey: ['products'] });
  }, [decidedId, qc, p.id]);
  const outcome = decided ? decision(decided) : null;
  return (
    <form noValidate aria-label="Adjust stock" onSubmit={(e) => { e.preventDefault(); m.mutate(); }}
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Stock: <span data-testid="product-stock">{p.stock}</span> <StockBadge product={p} />
        <span className="ml-2 text-xs font-normal text-slate-500">low at {p.low_stock_threshold} or fewer</span></h2>
      <ErrorBox error={formError(m.error, ['delta', 'reason'])} />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <TextField label="Change (+ restock, − correction)" type="number" value={delta} onChange={(e) => setDelta(e.target.value)} error={fieldError(m.error, 'delta')} />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError(m.error, 'reason')} />
      </div>
      <Button type="submit" disabled={m.isPending || waiting}>Adjust stock</Button>
      {waiting && <p role="status" className="text-sm text-slate-600">Adjustment accepted; waiting for the stock worker…</p>}
      {adjustmentId !== null && followed.isError && !decided && <ErrorBox error={followed.error} />}
      {outcome && (outcome.ok
        ? <p role="status" className="text-sm text-green-700">{outcome.text}</p>
        : <p role="alert" className="text-sm text-red-700">{outcome.text}</p>)}
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
