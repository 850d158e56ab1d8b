import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { ops } from '../../api';
import { Empty, ErrorBox, Loading } from '../../components/ui';
import { Sparkline } from './Sparkline';

const EVERY_MS = 3_000;
const KEEP = 100; // samples: five minutes at one every three seconds

const rate = (r: number | null | undefined) => (r == null ? '—' : `${r.toFixed(1)}/s`);

export function QueuesPage() {
  const q = useQuery({ queryKey: ['ops', 'queues'], queryFn: ops.queues, refetchInterval: EVERY_MS });
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
  return (
    <section>
      <h1 className="mb-2 text-2xl font-semibold">Queues</h1>
      <p className="mb-4 text-sm text-slate-600">
        Refreshes every {EVERY_MS / 1000} s.{q.data && ` Source: ${q.data.source}.`} {q.data?.note}
      </p>
      {q.isPending ? <Loading label="Loading queues…" /> : q.isError ? <ErrorBox error={q.error} /> : q.data.queues.length === 0 ? (
        <Empty>No queues declared.</Empty>
      ) : (
        <div className="overflow-x-auto">
          <table className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm" aria-label="Queues">
            <thead className="bg-slate-50 text-left">
              <tr>
                <th className="p-2">Queue</th><th className="p-2">Ready</th><th className="p-2">Unacked</th><th className="p-2">Consumers</th>
                <th className="p-2">Active consumer</th><th className="p-2">Publish</th><th className="p-2">Deliver</th>
                <th className="p-2">Dead letters</th><th className="p-2">Depth (last minutes)</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {q.data.queues.map((x) => (
                <tr key={x.name}>
                  <td className="p-2 font-mono">{x.name}</td>
                  <td className="p-2">{x.ready}</td>
                  <td className="p-2">{x.unacknowledged ?? '—'}</td>
                  <td className="p-2">{x.consumers}</td>
                  <td className="p-2 font-mono text-xs">{x.single_active_consumer ? (x.active_consumer ?? 'none') : 'n/a'}</td>
                  <td className="p-2">{rate(x.publish_rate)}</td>
                  <td className="p-2">{rate(x.deliver_rate)}</td>
                  <td className="p-2">
                    {x.dead_letters > 0 ? (
                      <Link className="font-semibold text-red-700 underline" to={`/ops/dead-letters?queue=${encodeURIComponent(x.name)}`}>{x.dead_letters}</Link>
                    ) : 0}
                  </td>
                  <td className="p-2"><Sparkline values={history.current.get(x.name) ?? []} label={`${x.name} depth`} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
