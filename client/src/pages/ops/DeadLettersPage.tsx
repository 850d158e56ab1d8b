// Dead letters by what they are about (the message in words, the order's number, the product's name), why they died,
// when, and after how many attempts. The message id (which replay names) is never text: a button copies it, and the
// message's ids and body stay folded away under "Message".
import { Fragment, useId, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ops } from '../../api';
import type { DeadLetter } from '../../api/types';
import { describeError, fieldError } from '../../api/errors';
import { useFeedback } from '../../components/feedback';
import { PageHeading } from '../../components/page';
import { CopyReference } from '../../components/reference';
import { OrderRef, ProductRef } from '../../components/refs';
import { Button, Empty, ErrorBox, Loading, SelectField, formatTime } from '../../components/ui';
import { letterConcerns, letterKey, letterWhat } from './letters';

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

/** The order (by number) and the product (by name) a dead letter's message names, each a link; nothing when it names none. */
function Concerns({ letter }: { letter: DeadLetter }) {
  const { orderId, productId, productName } = letterConcerns(letter);
  const parts = [
    ...(orderId ? [<OrderRef key="order" id={orderId} />] : []),
    ...(productId ? [<ProductRef key="product" id={productId} name={productName} />] : []),
  ];
  if (parts.length === 0) return null;
  return <> — {parts.flatMap((p, i) => (i === 0 ? [p] : [<Fragment key={`and-${i}`}>, </Fragment>, p]))}</>;
}

/** What operators read of a dead letter; its ids and body only under "Message". */
function Letter({ letter: d, selected, onToggle }: { letter: DeadLetter; selected: boolean; onToggle(): void }) {
  const what = letterWhat(d);
  const id = useId();
  return (
    <li className="rounded-lg border border-slate-200 bg-white p-3 text-sm" data-testid="dead-letter">
      <div className="flex items-start gap-2">
        <input id={id} type="checkbox" checked={selected} onChange={onToggle} className="mt-1" />
        <div className="min-w-0 flex-1 break-words">
          {/* The checkbox's name: what the message is and what it concerns ("Stock adjustment — Oak stool"). */}
          <label htmlFor={id}><span className="font-medium">{what}</span><Concerns letter={d} /></label>
          <span className="block text-red-700">{d.reason ?? 'no reason recorded'}</span>
          <span className="block text-xs text-slate-600">
            in <span className="font-mono">{d.queue}</span> · attempts {d.attempts ?? '?'} · dead-lettered {formatTime(d.dead_lettered_at)}
            {d.first_failure_at && d.first_failure_at !== d.dead_lettered_at ? ` · first failed ${formatTime(d.first_failure_at)}` : ''}
          </span>
          <div className="mt-1 flex flex-wrap items-start gap-x-4 gap-y-1">
            <CopyReference value={d.id} context={`of this message: ${what}`} />
            <details className="min-w-0 flex-1 text-xs text-slate-600">
              <summary className="cursor-pointer">Message</summary>
              <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 break-all">
                <dt>type</dt><dd className="font-mono">{d.type ?? '—'}</dd>
                <dt>message id</dt><dd className="font-mono">{d.id}</dd>
                <dt>concerns</dt><dd className="font-mono">{d.correlation_id ?? '—'}</dd>
              </dl>
              <pre className="mt-1 overflow-x-auto">{JSON.stringify(d.body, null, 2)}</pre>
            </details>
          </div>
        </div>
      </div>
    </li>
  );
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
  // Chosen by queue and message id: replay names each queue's message ids.
  const toggle = (key: string) => setSelected((s) => (s.includes(key) ? s.filter((x) => x !== key) : [...s, key]));
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
              onClick={() => replay.mutate({ letters: items.filter((d) => selected.includes(letterKey(d))), all: false })}>
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
              <Letter key={letterKey(d)} letter={d} selected={selected.includes(letterKey(d))} onToggle={() => toggle(letterKey(d))} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
