import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { ops } from '../../api';
import type { QueueView } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { PageHeading } from '../../components/page';
import { Empty, ErrorBox, Loading, formatTime } from '../../components/ui';
import { growing, problems, type Problem } from './health';
import { Sparkline } from './Sparkline';

const EVERY_MS = 3_000;
const KEEP = 100; // samples: five minutes at one every three seconds

const rate = (r: number | null | undefined) => (r == null ? '—' : `${r.toFixed(1)}/s`);

/** The health summary: what is wrong now, or that nothing is. */
export function HealthSummary({ found, checkedAt }: { found: Problem[]; checkedAt?: string }) {
  return (
    <section aria-labelledby="health-title"
      className={`rounded-lg border p-4 ${found.length === 0 ? 'border-green-300 bg-green-50' : 'border-red-300 bg-red-50'}`}>
      <h2 id="health-title" className="font-semibold">
        {found.length === 0 ? 'All healthy' : `${found.length} thing${found.length === 1 ? '' : 's'} need${found.length === 1 ? 's' : ''} attention`}
      </h2>
      {found.length === 0 ? (
        <p className="text-sm text-green-900">No dead letters, every queue has a consumer, no backlog is growing{checkedAt ? ', and the last invariant check passed' : ''}.</p>
      ) : (
        <ul className="mt-1 list-disc space-y-1 pl-5 text-sm" aria-label="Problems">
          {found.map((p) => (
            <li key={p.key} className={p.severity === 'error' ? 'text-red-900' : 'text-amber-900'}>
              {p.text} {p.link && <Link className="font-semibold underline" to={p.link}>Look</Link>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function QueuesPage() {
  const q = useQuery({ queryKey: ['ops', 'queues'], queryFn: ops.queues, refetchInterval: EVERY_MS });
  // The last check's result (run when the page opens, then kept a few minutes): a scan of the store.
  const verify = useQuery({ queryKey: ['ops', 'verify'], queryFn: ops.verify, staleTime: 5 * 60_000 });
  const history = useRef(new Map<string, number[]>());
  const [, bump] = useState(0);
  useEffect(() => {
    if (!q.data) return;
    for (const queue of q.data.queues) {
      const h = history.current.get(queue.name) ?? [];
      h.push(queue.ready + (queue.unacknowledged ?? 0));
      history.current.set(queue.name, h.slice(-KEEP));
    }
    bump((n) => n + 1);
  }, [q.data, q.dataUpdatedAt]);
  const attention = (x: QueueView) =>
    x.dead_letters > 0 || x.consumers === 0 ? 'bg-red-50' : growing(history.current.get(x.name) ?? []) ? 'bg-amber-50' : '';
  return (
    <section className="space-y-4">
      <PageHeading title="Queues" />
      <p className="text-sm text-slate-600">
        Refreshes every {EVERY_MS / 1000} s.{q.data && ` Source: ${q.data.source}.`} {q.data?.note}
      </p>
      {q.data && <HealthSummary found={problems(q.data.queues, history.current, verify.data)} checkedAt={verify.data?.checked_at} />}
      {verify.data && <p className="text-xs text-slate-600">Invariants last checked {formatTime(verify.data.checked_at)}.</p>}
      {q.isPending ? <Loading label="Loading queues…" /> : q.isError ? <ErrorBox error={q.error} /> : q.data.queues.length === 0 ? (
        <Empty>No queues declared.</Empty>
      ) : (
        <DataTable
          label="Queues"
          rows={q.data.queues}
          rowKey={(x) => x.name}
          rowClassName={attention}
          columns={[
            { header: 'Queue', primary: true, cell: (x) => <span className="font-mono">{x.name}</span> },
            { header: 'Ready', cell: (x) => x.ready },
            { header: 'Unacked', cell: (x) => x.unacknowledged ?? '—' },
            { header: 'Consumers', cell: (x) => (x.consumers === 0 ? <span className="font-semibold text-red-800">0 (none)</span> : x.consumers) },
            { header: 'Active consumer', cell: (x) => <span className="font-mono text-xs">{x.single_active_consumer ? (x.active_consumer ?? 'none') : 'n/a'}</span> },
            { header: 'Publish', cell: (x) => rate(x.publish_rate) },
            { header: 'Deliver', cell: (x) => rate(x.deliver_rate) },
            {
              header: 'Dead letters',
              cell: (x) => (x.dead_letters > 0 ? (
                <Link className="font-semibold text-red-800 underline" to={`/ops/dead-letters?queue=${encodeURIComponent(x.name)}`}>{x.dead_letters}</Link>
              ) : 0),
            },
            { header: 'Depth (last minutes)', cell: (x) => <Sparkline values={history.current.get(x.name) ?? []} label={`${x.name} depth`} /> },
          ]}
        />
      )}
    </section>
  );
}
