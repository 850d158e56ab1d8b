// One endpoint's delivery log: every event sent to it with each attempt (status, latency, error, the start of
// the receiver's answer shown as plain text), the next attempt's time, and a retry button. Newest first, paged by
// the API's cursors (`components/pager.tsx`), filtered by status.
import { useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { webhooks } from '../../api';
import type { Delivery, DeliveryStatus } from '../../api/types';
import { describeError } from '../../api/errors';
import { useFeedback } from '../../components/feedback';
import { PageHeading } from '../../components/page';
import { Button, Empty, ErrorBox, Loading, SelectField, formatTime } from '../../components/ui';
import { CursorPager, useCursorList } from '../../components/pager';

const PER_PAGE = 20;
const STATUS_CLASS: Record<DeliveryStatus, string> = {
  pending: 'text-amber-700',
  succeeded: 'text-green-700',
  failed: 'text-red-700',
};

function DeliveryRow({ webhookId, delivery }: { webhookId: string; delivery: Delivery }) {
  const qc = useQueryClient();
  const { toast } = useFeedback();
  const [open, setOpen] = useState(false);
  const retry = useMutation({
    mutationFn: () => webhooks.retry(webhookId, delivery.id),
    onSuccess: () => { toast('Retry scheduled.'); void qc.invalidateQueries({ queryKey: ['webhook-deliveries', webhookId] }); },
    onError: (e) => toast(describeError(e), 'error'),
  });
  const last = delivery.attempts[delivery.attempts.length - 1];
  return (
    <li className="px-4 py-3">
      <div className="flex flex-wrap items-center gap-3">
        <span className={`text-sm font-semibold ${STATUS_CLASS[delivery.status]}`} data-testid="delivery-status">{delivery.status}</span>
        <span className="text-sm">{delivery.event_type}</span>
        <code className="text-xs text-slate-600">{delivery.event_id}</code>
        <span className="text-xs text-slate-600">
          {delivery.attempts.length} attempt{delivery.attempts.length === 1 ? '' : 's'}
          {last ? ` · last ${last.response_status ?? 'no answer'}, ${last.latency_ms} ms` : ''}
          {delivery.next_attempt_at ? ` · next ${formatTime(delivery.next_attempt_at)}` : ''}
        </span>
        <div className="ml-auto flex gap-2">
          <Button variant="secondary" aria-expanded={open} onClick={() => setOpen((o) => !o)}>{open ? 'Hide attempts' : 'Attempts'}</Button>
          <Button variant="secondary" disabled={retry.isPending} onClick={() => retry.mutate()}>Retry</Button>
        </div>
      </div>
      {open && (
        <ol className="mt-2 space-y-2">
          {delivery.attempts.map((a, i) => (
            <li key={i} className="rounded border border-slate-200 p-2 text-xs">
              <p>
                {formatTime(a.at)} · {a.response_status ?? 'no answer'} · {a.latency_ms} ms
                {a.error ? ` · ${a.error}` : ''}
              </p>
              {/* The receiver's answer is text, never HTML: React escapes it. A long one scrolls in its box, which
                  takes the focus so that the keyboard can scroll it too. */}
              {a.response_body && (
                <pre tabIndex={0} className="mt-1 max-h-40 overflow-auto whitespace-pre-wrap break-all bg-slate-50 p-1 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                  {a.response_body}
                </pre>
              )}
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];
const isStatus = (s: string | null): s is DeliveryStatus => STATUSES.includes(s as DeliveryStatus);

export function WebhookDeliveriesPage() {
  const { id = '' } = useParams();
  // The filter lives in the address with the page (a reload, or back and forward, keep both); a new filter's
  // address has no cursor: its first page.
  const [params, setParams] = useSearchParams();
  const asked = params.get('status');
  const status: DeliveryStatus | '' = isStatus(asked) ? asked : '';
  const endpoint = useQuery({ queryKey: ['webhooks', id], queryFn: () => webhooks.get(id) });
  const { list, pager } = useCursorList({
    queryKey: ['webhook-deliveries', id, { status }],
    queryFn: (cursor) => webhooks.deliveries(id, { status: status || undefined, cursor, per_page: PER_PAGE }),
    // Attempts go on in the background: the page on screen is read again (from the same cursor).
    refetchInterval: () => 5_000,
  });
  const items = list.data?.items ?? [];
  return (
    <section className="space-y-4">
      <PageHeading title="Webhook deliveries" />
      <p className="text-sm"><Link to="/admin/webhooks" className="text-indigo-700 underline">All endpoints</Link></p>
      {endpoint.data && <p className="break-all font-mono text-sm">{endpoint.data.url}</p>}
      <div className="max-w-xs">
        <SelectField label="Status" value={status}
          onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {}, { replace: true })}>
          <option value="">All</option>
          <option value="pending">Pending</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
        </SelectField>
      </div>
      {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : (
        <>
          {items.length === 0 ? (
            pager.page === 1 && <Empty>No deliveries{status ? ` ${status}` : ''} yet.</Empty>
          ) : (
            <ul aria-label="Deliveries" className="divide-y divide-slate-200 rounded-md border border-slate-200 bg-white">
              {items.map((d) => <DeliveryRow key={d.id} webhookId={id} delivery={d} />)}
            </ul>
          )}
          <CursorPager pager={pager} label="Pages of deliveries" />
        </>
      )}
    </section>
  );
}
