import { useQuery } from '@tanstack/react-query';
import { ops } from '../../api';
import { Button, ErrorBox, Loading } from '../../components/ui';

export function VerifyPage() {
  const q = useQuery({ queryKey: ['ops', 'verify'], queryFn: ops.verify, staleTime: 0 });
  return (
    <section className="space-y-4">
      <div className="flex items-center gap-3">
        <h1 className="text-2xl font-semibold">Verify</h1>
        <Button variant="secondary" onClick={() => void q.refetch()} disabled={q.isFetching}>{q.isFetching ? 'Checking…' : 'Run again'}</Button>
      </div>
      {q.isPending ? <Loading label="Checking stock, ledger and reservations…" /> : q.isError ? <ErrorBox error={q.error} /> : (
        <>
          <p className={`text-lg font-semibold ${q.data.ok ? 'text-green-700' : 'text-red-700'}`}>
            {q.data.ok ? 'All invariants hold.' : `${q.data.violations.length} violation(s).`}
          </p>
          <p className="text-sm text-slate-600">
            {q.data.products_checked} products and {q.data.orders_checked} orders checked; {q.data.orders_in_flight} orders in flight not judged.
          </p>
          {q.data.violations.length > 0 && (
            <ul className="space-y-1 text-sm">
              {q.data.violations.map((v, i) => (
                <li key={i} className="rounded border border-red-200 bg-red-50 p-2"><b>{v.kind}</b> {v.subject}: {v.detail}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
