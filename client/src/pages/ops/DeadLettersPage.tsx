import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ops } from '../../api';
import { Button, Empty, ErrorBox, Loading, SelectField, formatTime } from '../../components/ui';
import { fieldError } from '../../api/errors';

export function DeadLettersPage() {
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const queue = params.get('queue') ?? '';
  const [selected, setSelected] = useState<string[]>([]);
  const queues = useQuery({ queryKey: ['ops', 'queues'], queryFn: ops.queues });
  const list = useQuery({ queryKey: ['ops', 'dead-letters', queue], queryFn: () => ops.deadLetters(queue), enabled: !!queue });
  const replay = useMutation({
    mutationFn: (ids?: string[]) => ops.replay({ queue, ids: ids ?? null }),
    onSuccess: () => {
      setSelected([]);
      void qc.invalidateQueries({ queryKey: ['ops'] });
    },
  });
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  return (
    <section className="space-y-4">
      <h1 className="text-2xl font-semibold">Dead letters</h1>
      <div className="max-w-sm">
        <SelectField label="Queue" value={queue} error={fieldError(list.error ?? replay.error, 'queue')}
          onChange={(e) => { setSelected([]); replay.reset(); setParams(e.target.value ? { queue: e.target.value } : {}); }}>
          <option value="">Choose a queue</option>
          {queues.data?.queues.map((q) => (
            <option key={q.name} value={q.name}>{q.name} ({q.dead_letters})</option>
          ))}
        </SelectField>
      </div>
      {/* Outside the list: it stays when the replay emptied it. */}
      {replay.isSuccess && <p role="status" className="text-sm text-green-700">Replayed {replay.data.replayed}, kept {replay.data.kept}.</p>}
      <ErrorBox error={replay.error} />
      {!queue ? <Empty>Choose a queue to see its dead letters.</Empty> : list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : list.data.items.length === 0 ? (
        <Empty>No dead letters in {queue}.</Empty>
      ) : (
        <>
          <div className="flex flex-wrap gap-2">
            <Button disabled={replay.isPending || selected.length === 0} onClick={() => replay.mutate(selected)}>Replay selected ({selected.length})</Button>
            <Button variant="secondary" disabled={replay.isPending} onClick={() => replay.mutate(undefined)}>Replay all</Button>
          </div>
          <ul className="space-y-2">
            {list.data.items.map((d) => (
              <li key={d.id} className="rounded-lg border border-slate-200 bg-white p-3 text-sm">
                <label className="flex items-start gap-2">
                  <input type="checkbox" checked={selected.includes(d.id)} onChange={() => toggle(d.id)} className="mt-1" />
                  <span className="flex-1">
                    <span className="font-mono text-xs">{d.id}</span> · {d.type ?? 'message'} · attempts {d.attempts ?? '?'}
                    <span className="block text-red-700">{d.reason ?? 'no reason recorded'}</span>
                    <span className="block text-xs text-slate-500">first failure {formatTime(d.first_failure_at)} · dead-lettered {formatTime(d.dead_lettered_at)} · concerns {d.correlation_id ?? '—'}</span>
                  </span>
                </label>
                <details className="mt-1"><summary className="cursor-pointer text-xs">Body</summary>
                  <pre className="overflow-x-auto text-xs">{JSON.stringify(d.body, null, 2)}</pre>
                </details>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
