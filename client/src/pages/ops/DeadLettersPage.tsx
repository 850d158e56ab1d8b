import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ops } from '../../api';
import type { DeadLetter } from '../../api/types';
import { describeError, fieldError } from '../../api/errors';
import { useFeedback } from '../../components/feedback';
import { PageHeading } from '../../components/page';
import { Button, Empty, ErrorBox, Loading, SelectField, formatTime } from '../../components/ui';

/** Replays `letters` queue by queue (each queue's replay names its own ids); all of each queue when `all`. */
async function replayAll(letters: DeadLetter[], all: boolean) {
  const byQueue = new Map<string, string[]>();
  for (const d of letters) byQueue.set(d.queue, [...(byQueue.get(d.queue) ?? []), d.id]);
  let replayed = 0;
  let kept = 0;
  for (const [queue, ids] of byQueue) {
    const r = await ops.replay({ queue, ids: all ? null : ids });
    replayed += r.replayed;
    kept += r.kept;
  }
  return { replayed, kept };
}

export function DeadLettersPage() {
  const qc = useQueryClient();
  const { toast, confirm } = useFeedback();
  const [params, setParams] = useSearchParams();
  const queue = params.get('queue') ?? '';
  const [selected, setSelected] = useState<string[]>([]);
  const queues = useQuery({ queryKey: ['ops', 'queues'], queryFn: ops.queues });
  // Every queue's dead letters unless one queue is picked.
  const list = useQuery({ queryKey: ['ops', 'dead-letters', queue], queryFn: () => ops.deadLetters(queue || undefined) });
  const replay = useMutation({
    mutationFn: ({ letters, all }: { letters: DeadLetter[]; all: boolean }) => replayAll(letters, all),
    onSuccess: (r) => {
      setSelected([]);
      toast(`Replayed ${r.replayed}, kept ${r.kept}.`);
      void qc.invalidateQueries({ queryKey: ['ops'] });
    },
    onError: (e) => toast(describeError(e), 'error'),
  });
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const items = list.data?.items ?? [];
  const total = queues.data?.queues.reduce((n, q) => n + q.dead_letters, 0);
  return (
    <section className="space-y-4">
      <PageHeading title="Dead letters" />
      <p className="text-sm text-slate-600">Messages a worker gave up on, with why. They stay here until replayed to their queue.</p>
      <div className="max-w-sm">
        <SelectField label="Queue" value={queue} error={fieldError(list.error ?? replay.error, 'queue')}
          onChange={(e) => { setSelected([]); replay.reset(); setParams(e.target.value ? { queue: e.target.value } : {}); }}>
          <option value="">All queues{total !== undefined ? ` (${total})` : ''}</option>
          {queues.data?.queues.map((q) => (
            <option key={q.name} value={q.name}>{q.name} ({q.dead_letters})</option>
          ))}
        </SelectField>
      </div>
      {/* Outside the list: it stays when the replay emptied it. */}
      {replay.isSuccess && <p role="status" className="text-sm text-green-700">Replayed {replay.data.replayed}, kept {replay.data.kept}.</p>}
      <ErrorBox error={replay.error} />
      {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : items.length === 0 ? (
        <Empty>{queue ? `No dead letters in ${queue}.` : 'No dead letters in any queue.'}</Empty>
      ) : (
        <>
          <div className="flex flex-wrap gap-2">
            <Button disabled={replay.isPending || selected.length === 0}
              onClick={() => replay.mutate({ letters: items.filter((d) => selected.includes(d.id)), all: false })}>
              Replay selected ({selected.length})
            </Button>
            <Button variant="secondary" disabled={replay.isPending}
              onClick={async () => {
                const ok = await confirm({
                  title: `Replay all ${items.length} dead letter${items.length === 1 ? '' : 's'}${queue ? ` of ${queue}` : ''}?`,
                  body: 'Each goes back to its queue and is processed again. Messages that fail again come back here.',
                  confirmLabel: 'Replay all',
                  cancelLabel: 'Not now',
                });
                if (ok) replay.mutate({ letters: items, all: true });
              }}>
              Replay all
            </Button>
          </div>
          <ul className="space-y-2" aria-label="Dead letters">
            {items.map((d) => (
              <li key={`${d.queue}/${d.id}`} className="rounded-lg border border-slate-200 bg-white p-3 text-sm">
                <label className="flex items-start gap-2">
                  <input type="checkbox" checked={selected.includes(d.id)} onChange={() => toggle(d.id)} className="mt-1" />
                  <span className="min-w-0 flex-1 break-words">
                    <span className="font-mono text-xs">{d.id}</span> · {d.type ?? 'message'} · <span className="font-mono text-xs">{d.queue}</span> · attempts {d.attempts ?? '?'}
                    <span className="block text-red-700">{d.reason ?? 'no reason recorded'}</span>
                    <span className="block text-xs text-slate-600">first failure {formatTime(d.first_failure_at)} · dead-lettered {formatTime(d.dead_lettered_at)} · concerns {d.correlation_id ?? '—'}</span>
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
