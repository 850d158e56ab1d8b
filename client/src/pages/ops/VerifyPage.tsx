import { useQuery } from '@tanstack/react-query';
import { ops } from '../../api';
import { PageHeading } from '../../components/page';
import { Button, ErrorBox, Loading, formatTime } from '../../components/ui';
import { CopyReference, UUID } from '../../components/reference';
import { OrderRef, ProductRef, WithProductNames } from '../../components/refs';
import type { Violation } from '../../api/types';

/** Violations about a product (`negative_stock`, `stock_ledger_mismatch`); the others are about an order. */
const PRODUCT_KINDS = ['negative_stock', 'stock_ledger_mismatch'];

/** What a violation concerns, by name (the API gives its id): the product, or the order by number. */
function Subject({ violation: v }: { violation: Violation }) {
  if (!UUID.test(v.subject)) return <>{v.subject}</>;
  return PRODUCT_KINDS.includes(v.kind) ? <ProductRef id={v.subject} /> : <OrderRef id={v.subject} />;
}

export function VerifyPage() {
  const q = useQuery({ queryKey: ['ops', 'verify'], queryFn: ops.verify, staleTime: 0 });
  return (
    <section className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <PageHeading title="Verify" />
        <Button variant="secondary" onClick={() => void q.refetch()} disabled={q.isFetching}>{q.isFetching ? 'Checking…' : 'Run again'}</Button>
      </div>
      {q.isPending ? <Loading label="Checking stock, ledger and reservations…" /> : q.isError ? <ErrorBox error={q.error} /> : (
        <>
          <p className={`text-lg font-semibold ${q.data.ok ? 'text-green-700' : 'text-red-700'}`}>
            {q.data.ok ? 'All invariants hold.' : `${q.data.violations.length} violation(s).`}
          </p>
          <p className="text-sm text-slate-600" data-testid="verify-when">
            Checked {formatTime(q.data.checked_at)} in {q.data.took_ms} ms: {q.data.products_checked} products and {q.data.orders_checked} orders checked;
            {' '}{q.data.orders_in_flight} orders in flight not judged.
          </p>
          <ul className="space-y-1 text-sm" aria-label="Checks">
            {q.data.checks.map((c) => (
              <li key={c.name} className={`flex items-start gap-2 rounded border p-2 ${c.ok ? 'border-green-200 bg-green-50' : 'border-red-200 bg-red-50'}`}>
                <span aria-hidden className={c.ok ? 'text-green-800' : 'text-red-800'}>{c.ok ? '✓' : '✗'}</span>
                <span className="flex-1">
                  {c.description}
                  <span className={`block text-xs ${c.ok ? 'text-green-900' : 'text-red-900'}`}>
                    {c.ok ? 'Passed' : `Failed: ${c.violations} violation${c.violations === 1 ? '' : 's'}`}
                  </span>
                </span>
              </li>
            ))}
          </ul>
          {q.data.violations.length > 0 && (
            <>
              <h2 className="font-semibold">Violations</h2>
              <ul className="space-y-1 text-sm">
                {q.data.violations.map((v, i) => (
                  <li key={i} className="break-words rounded border border-red-200 bg-red-50 p-2">
                    <b>{v.kind}</b> <Subject violation={v} />: <WithProductNames text={v.detail} />
                    {' '}<CopyReference value={v.subject} context={`of what the ${v.kind} concerns`} />
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
