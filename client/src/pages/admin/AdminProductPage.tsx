import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { products } from '../../api';
import type { AdjustmentStatusOut, Product, ProductPatch } from '../../api/types';
import { fieldError, formError } from '../../api/errors';
import { LIMITS } from '../../api/limits';
import { useAuth } from '../../auth/AuthContext';
import { CURRENCIES, minorToInput, parseMoney } from '../../money';
import { orderName, who } from '../../orders/words';
import { DataTable } from '../../components/DataTable';
import { useFeedback } from '../../components/feedback';
import { MoneyField } from '../../components/inputs';
import { PageHeading, useFocusFirstInvalid } from '../../components/page';
import { Button, Empty, ErrorBox, ImageStateBadge, Loading, StockBadge, TextArea, TextField, formatTime } from '../../components/ui';
import { CursorPager, useCursorList } from '../../components/pager';
import { ImagePicker } from './ImagePicker';

const LEDGER_PER_PAGE = 20;

const asForm = (p: Product) => ({
  name: p.name,
  description: p.description,
  price: minorToInput(p.price.amount, p.price.currency),
  currency: p.price.currency,
  threshold: String(p.low_stock_threshold),
});

/** Only what the admin changed (the PATCH leaves every other field as it is), or the fields to fix first. */
function changes(p: Product, v: ReturnType<typeof asForm>): { patch: ProductPatch; errors: Record<string, string> } {
  const patch: ProductPatch = {};
  const errors: Record<string, string> = {};
  const was = asForm(p);
  const currency = v.currency.trim().toUpperCase();
  if (!CURRENCIES.includes(currency)) errors.currency = 'Use a three-letter currency code such as USD or EUR.';
  if (v.name !== was.name) patch.name = v.name;
  if (v.description !== was.description) patch.description = v.description;
  // The price is read in the currency it will have: 1500 is ¥1,500 but $15.00 only when typed 15.
  const price = parseMoney(v.price, errors.currency ? p.price.currency : currency);
  if (!price.ok) errors.price = price.error;
  else if (price.minor !== p.price.amount) patch.price = price.minor;
  if (!errors.currency && currency !== was.currency) patch.currency = currency as ProductPatch['currency'];
  // An empty threshold goes back to the deployment's default.
  const threshold = v.threshold.trim();
  if (threshold !== '' && !/^\d+$/.test(threshold)) errors.low_stock_threshold = 'Enter a whole number of units, or leave it empty for the default.';
  else if (threshold !== '' && Number(threshold) > LIMITS.productPatch.lowStockThreshold.maximum) {
    errors.low_stock_threshold = `At most ${LIMITS.productPatch.lowStockThreshold.maximum.toLocaleString()} units.`;
  }
  else if (threshold !== was.threshold) patch.low_stock_threshold = threshold === '' ? null : Number(threshold);
  return { patch, errors };
}

function EditProduct({ p }: { p: Product }) {
  const qc = useQueryClient();
  const { toast, confirm } = useFeedback();
  const formRef = useRef<HTMLFormElement>(null);
  const [v, setV] = useState(() => asForm(p));
  const [saved, setSaved] = useState<string | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [refused, setRefused] = useState(0);
  useFocusFirstInvalid(formRef, refused || null);
  const m = useMutation({
    mutationFn: (patch: ProductPatch) => products.patch(p.id, patch),
    onSuccess: (np, patch) => {
      qc.setQueryData(['product', p.id], np);
      void qc.invalidateQueries({ queryKey: ['products'] });
      // What the server kept (it normalises, and fills the default threshold back in).
      if (patch.active === undefined) setV(asForm(np));
      const said = patch.active === undefined ? 'Saved.' : np.active ? 'Activated.' : 'Deactivated.';
      setSaved(said);
      toast(patch.active === undefined ? `${np.name} saved.` : `${np.name} ${np.active ? 'is back in the catalog' : 'is hidden from shoppers'}.`);
    },
    onError: () => setRefused((n) => n + 1),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    m.reset();
    const { patch, errors } = changes(p, v);
    setLocal(errors);
    if (Object.keys(errors).length > 0) return setRefused((n) => n + 1);
    if (Object.keys(patch).length === 0) return setSaved('Nothing to save.');
    m.mutate(patch);
  };
  const error = (k: string) => local[k] ?? fieldError(m.error, k);
  const change = (k: keyof typeof v, value: string) => {
    setV({ ...v, [k]: value });
    const key = k === 'threshold' ? 'low_stock_threshold' : k;
    setLocal(({ [key]: _, ...rest }) => rest);
  };
  const field = (k: keyof typeof v) => (e: { target: { value: string } }) => change(k, e.target.value);
  const currency = /^[A-Za-z]{3}$/.test(v.currency.trim()) ? v.currency.trim().toUpperCase() : p.price.currency;
  return (
    <form ref={formRef} onSubmit={submit} noValidate aria-label="Edit product" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Details</h2>
      <ErrorBox error={formError(m.error, ['name', 'description', 'price', 'currency', 'low_stock_threshold', 'active'])} />
      <TextField label="Name" value={v.name} onChange={field('name')} maxLength={LIMITS.productPatch.name.maxLength} error={error('name')} />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <MoneyField label="Price" value={v.price} currency={currency} onChange={(price) => change('price', price)} error={error('price')} />
        <TextField label="Currency" value={v.currency} maxLength={3} onChange={field('currency')}
          error={error('currency')} hint="ISO 4217, e.g. USD" />
        <TextField label="Low-stock threshold" inputMode="numeric" value={v.threshold} onChange={field('threshold')}
          error={error('low_stock_threshold')} hint={`Empty: the default (at most ${LIMITS.productPatch.lowStockThreshold.maximum.toLocaleString()})`} />
      </div>
      <TextArea label="Description" rows={3} value={v.description} onChange={field('description')} error={error('description')}
        maxLength={LIMITS.productPatch.description.maxLength} hint={`At most ${LIMITS.productPatch.description.maxLength.toLocaleString()} characters`} />
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" disabled={m.isPending}>Save</Button>
        <Button type="button" variant={p.active ? 'danger' : 'secondary'} disabled={m.isPending}
          onClick={async () => {
            setSaved(null);
            if (p.active && !(await confirm({
              title: `Deactivate ${p.name}?`,
              body: 'Shoppers will no longer see it or be able to order it. Orders already placed are not affected; you can activate it again.',
              confirmLabel: 'Deactivate',
              cancelLabel: 'Keep it on sale',
            }))) return;
            m.mutate({ active: !p.active });
          }}>
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
  const { toast } = useFeedback();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const m = useMutation({
    mutationFn: (f: File | null) => { setProgress(f ? 0 : null); return products.replaceImage(p.id, f, setProgress); },
    onSuccess: (_, f) => {
      setFile(null);
      toast(f ? 'Image uploaded: it shows once it is processed.' : 'Upload sent again.');
      void qc.invalidateQueries({ queryKey: ['product', p.id] });
    },
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
  const { toast } = useFeedback();
  const formRef = useRef<HTMLFormElement>(null);
  const m = useMutation({
    mutationFn: async () => {
      // Whole units only, and both fields, all said at once: `2.5` never becomes 2 or 25.
      const details = [];
      const text = delta.trim().replace(/^\+/, '');
      if (!/^-?\d+$/.test(text)) details.push({ field: 'delta', code: 'validation_failed', message: text === '' ? 'Enter a change, like 5 or -2.' : 'Enter a whole number of units, like 5 or -2.' });
      else if (Number(text) === 0) details.push({ field: 'delta', code: 'validation_failed', message: 'must not be zero' });
      else if (Number(text) < LIMITS.stock.delta.minimum || Number(text) > LIMITS.stock.delta.maximum) {
        details.push({ field: 'delta', code: 'validation_failed', message: `Between ${LIMITS.stock.delta.minimum.toLocaleString()} and ${LIMITS.stock.delta.maximum.toLocaleString()} units.` });
      }
      if (!reason.trim()) details.push({ field: 'reason', code: 'validation_failed', message: 'Say why, e.g. “Restock from the supplier”.' });
      if (details.length > 0) throw { code: 'validation_failed', message: 'Fix the fields marked.', field: details[0].field, details };
      const units = Number(text);
      // The stock worker refuses a correction below zero (after the 202); say so at once when the
      // current stock already shows it. The worker still decides.
      if (units < 0) {
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
  useFocusFirstInvalid(formRef, m.error);
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
  const told = useRef<string | null>(null);
  useEffect(() => {
    if (!decided || told.current === decided.adjustment_id) return;
    told.current = decided.adjustment_id;
    const o = decision(decided);
    toast(o.text, o.ok ? 'success' : 'error');
  }, [decided, toast]);
  return (
    <form ref={formRef} noValidate aria-label="Adjust stock" onSubmit={(e) => { e.preventDefault(); m.mutate(); }}
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Stock: <span data-testid="product-stock">{p.stock}</span> <StockBadge product={p} />
        <span className="ml-2 text-xs font-normal text-slate-600">low at {p.low_stock_threshold} or fewer</span></h2>
      <ErrorBox error={formError(m.error, ['delta', 'reason'])} />
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <TextField label="Change (+ restock, − correction)" autoComplete="off" value={delta} onChange={(e) => setDelta(e.target.value)} error={fieldError(m.error, 'delta')}
          hint="Whole units: 5 adds five, -2 takes two away." />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError(m.error, 'reason')}
          maxLength={LIMITS.stock.reason.maxLength} hint={`At most ${LIMITS.stock.reason.maxLength} characters`} />
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
  const { user } = useAuth();
  const { list: q, pager } = useCursorList({
    queryKey: ['ledger', id],
    queryFn: (cursor) => products.ledger(id, { cursor, per_page: LEDGER_PER_PAGE }),
  });
  if (q.isPending) return <Loading label="Loading ledger…" />;
  if (q.isError) return <ErrorBox error={q.error} />;
  if (q.data.items.length === 0) {
    return <div><Empty>{pager.page > 1 ? 'No more ledger entries.' : 'No ledger entries.'}</Empty><CursorPager pager={pager} label="Pages of the ledger" /></div>;
  }
  return (
    <div>
      <DataTable
        label="Stock ledger"
        caption="Stock ledger"
        rows={q.data.items}
        rowKey={(e) => e.id}
        columns={[
          { header: 'When', primary: true, cell: (e) => formatTime(e.at) },
          { header: 'Kind', cell: (e) => e.kind },
          { header: 'Change', cell: (e) => <span className={e.delta < 0 ? 'text-red-700' : 'text-green-700'}>{e.delta > 0 ? `+${e.delta}` : e.delta}</span> },
          { header: 'Balance', cell: (e) => e.balance_after },
          {
            header: 'Order / by',
            cell: (e) => e.order_id
              ? <Link className="text-indigo-700 underline" to={`/orders/${e.order_id}`}>order {orderName({ id: e.order_id, number: e.order_number })}</Link>
              : who(e.actor, user, undefined, e.actor_name),
          },
          { header: 'Reason', cell: (e) => e.reason ?? '' },
        ]}
      />
      <CursorPager pager={pager} label="Pages of the ledger" />
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
  if (q.isError) return <section className="space-y-3"><PageHeading title="Product not found" /><ErrorBox error={q.error} /></section>;
  const p = q.data;
  return (
    <section className="space-y-4">
      <Link to="/admin/products" className="text-sm text-indigo-700 underline">← Products</Link>
      <PageHeading title={p.name}>{p.name} <span className="font-mono text-base text-slate-600">{p.sku}</span></PageHeading>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <EditProduct key={p.id} p={p} />
        <ImageSection p={p} />
      </div>
      <StockSection p={p} />
      <Ledger id={p.id} />
    </section>
  );
}
