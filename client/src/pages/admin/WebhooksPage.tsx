// Webhook endpoints: add one (its secret is shown once), change its URL, events and description, disable or
// enable it, rotate its secret (shown once; the old one signs beside it for 24 h), delete it, read its deliveries.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { webhooks } from '../../api';
import type { Webhook, WebhookEventType } from '../../api/types';
import { describeError, fieldError } from '../../api/errors';
import { LIMITS } from '../../api/limits';
import { useFeedback } from '../../components/feedback';
import { PageHeading } from '../../components/page';
import { Button, Empty, ErrorBox, Loading, TextField, formatTime } from '../../components/ui';

export const EVENT_TYPES: WebhookEventType[] = [
  'order.placed', 'order.rejected', 'order.confirmed', 'order.shipped', 'order.delivered', 'order.cancelled',
  'product.low_stock', 'product.image_ready', 'product.image_failed',
];

/** A secret shown once, with what to do with it. */
function SecretOnce({ secret, onDone }: { secret: string; onDone(): void }) {
  return (
    <div role="status" className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-4">
      <p className="text-sm font-semibold text-amber-900">Copy this signing secret now: it is not shown again.</p>
      <code data-testid="webhook-secret" className="block break-all rounded bg-white px-2 py-1 font-mono text-sm">{secret}</code>
      <div className="flex gap-2">
        <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(secret)}>Copy</Button>
        <Button variant="secondary" onClick={onDone}>I have saved it</Button>
      </div>
    </div>
  );
}

function EventPicker({ value, onChange, legend, error }: {
  value: WebhookEventType[]; onChange(v: WebhookEventType[]): void; legend: string; error?: string;
}) {
  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-700">{legend}</legend>
      <div className="mt-1 grid grid-cols-1 gap-1 sm:grid-cols-3">
        {EVENT_TYPES.map((t) => (
          <label key={t} className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={value.includes(t)}
              onChange={(e) => onChange(e.target.checked ? [...value, t] : value.filter((x) => x !== t))} />
            {t}
          </label>
        ))}
      </div>
      {error && <p role="alert" className="mt-1 text-sm text-red-700">{error}</p>}
    </fieldset>
  );
}

function NewWebhook({ onSecret }: { onSecret(s: string): void }) {
  const qc = useQueryClient();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>(['order.placed', 'order.shipped']);
  const create = useMutation({
    mutationFn: webhooks.create,
    onSuccess: (created) => {
      setUrl('');
      setDescription('');
      onSecret(created.secret);
      void qc.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ url, events, description: description || null });
  };
  return (
    <form onSubmit={submit} className="space-y-3 rounded-md border border-slate-200 bg-white p-4" aria-label="Add an endpoint">
      <h2 className="text-base font-semibold">Add an endpoint</h2>
      <TextField label="Endpoint URL" type="url" required value={url} placeholder="https://example.com/webhooks/oms"
        maxLength={LIMITS.webhook.url.maxLength} error={fieldError(create.error, 'url')} onChange={(e) => setUrl(e.target.value)} />
      <TextField label="Description" value={description} error={fieldError(create.error, 'description')}
        maxLength={LIMITS.webhook.description.maxLength} hint={`Optional, at most ${LIMITS.webhook.description.maxLength} characters`}
        onChange={(e) => setDescription(e.target.value)} />
      <EventPicker legend="Events" value={events} onChange={setEvents} error={fieldError(create.error, 'events')} />
      {create.isError && !fieldError(create.error, 'url') && !fieldError(create.error, 'events') && <ErrorBox error={create.error} />}
      <Button type="submit" disabled={create.isPending || events.length === 0}>Add endpoint</Button>
    </form>
  );
}

function EditWebhook({ webhook, onClose }: { webhook: Webhook; onClose(): void }) {
  const qc = useQueryClient();
  const [url, setUrl] = useState(webhook.url);
  const [description, setDescription] = useState(webhook.description ?? '');
  const [events, setEvents] = useState<WebhookEventType[]>(webhook.events);
  const save = useMutation({
    mutationFn: () => webhooks.patch(webhook.id, { url, events, description }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['webhooks'] });
      onClose();
    },
  });
  return (
    <form className="mt-3 space-y-3" aria-label={`Edit ${webhook.url}`} onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
      <TextField label="Endpoint URL" type="url" required value={url} error={fieldError(save.error, 'url')}
        maxLength={LIMITS.webhookPatch.url.maxLength} onChange={(e) => setUrl(e.target.value)} />
      <TextField label="Description" value={description} error={fieldError(save.error, 'description')}
        maxLength={LIMITS.webhookPatch.description.maxLength} onChange={(e) => setDescription(e.target.value)} />
      <EventPicker legend="Events" value={events} onChange={setEvents} error={fieldError(save.error, 'events')} />
      {save.isError && !fieldError(save.error, 'url') && <ErrorBox error={save.error} />}
      <div className="flex gap-2">
        <Button type="submit" disabled={save.isPending || events.length === 0}>Save</Button>
        <Button type="button" variant="secondary" onClick={onClose}>Cancel</Button>
      </div>
    </form>
  );
}

function WebhookRow({ webhook, onSecret }: { webhook: Webhook; onSecret(s: string): void }) {
  const qc = useQueryClient();
  const { toast, confirm } = useFeedback();
  const [editing, setEditing] = useState(false);
  const done = () => void qc.invalidateQueries({ queryKey: ['webhooks'] });
  const onError = (e: unknown) => toast(describeError(e), 'error');
  const toggle = useMutation({ mutationFn: () => webhooks.patch(webhook.id, { disabled: !webhook.disabled }), onSuccess: done, onError });
  const rotate = useMutation({ mutationFn: () => webhooks.rotate(webhook.id), onSuccess: (r) => { onSecret(r.secret); done(); }, onError });
  const remove = useMutation({ mutationFn: () => webhooks.remove(webhook.id), onSuccess: done, onError });
  return (
    <li className="px-4 py-3">
      <div className="flex flex-wrap items-start gap-3">
        <div className="min-w-0 flex-1">
          <p className="break-all font-mono text-sm">{webhook.url}</p>
          {webhook.description && <p className="text-sm text-slate-600">{webhook.description}</p>}
          <p className="text-xs text-slate-600">{webhook.events.join(', ')}</p>
          <p className="text-xs">
            {webhook.disabled
              ? <span className="font-semibold text-red-700">Disabled{webhook.disabled_reason ? `: ${webhook.disabled_reason}` : ''}</span>
              : <span className="text-green-700">Enabled</span>}
            {webhook.failing_since && <span className="text-amber-700"> · failing since {formatTime(webhook.failing_since)}</span>}
            {webhook.previous_secret_expires_at && <span className="text-slate-600"> · previous secret valid until {formatTime(webhook.previous_secret_expires_at)}</span>}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Link to={`/admin/webhooks/${webhook.id}`} className="rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-100">
            Deliveries
          </Link>
          <Button variant="secondary" onClick={() => setEditing((e) => !e)}>Edit</Button>
          <Button variant="secondary" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
            {webhook.disabled ? 'Enable' : 'Disable'}
          </Button>
          <Button variant="secondary" disabled={rotate.isPending} onClick={async () => {
            const ok = await confirm({
              title: 'Rotate the signing secret?',
              body: 'A new secret is shown once. The current one keeps signing beside it for 24 hours.',
              confirmLabel: 'Rotate', cancelLabel: 'Not now',
            });
            if (ok) rotate.mutate();
          }}>Rotate secret</Button>
          <Button variant="danger" disabled={remove.isPending} onClick={async () => {
            const ok = await confirm({
              title: 'Delete this endpoint?',
              body: 'Nothing more is sent to it, and its delivery log goes with it.',
              confirmLabel: 'Delete', cancelLabel: 'Keep it',
            });
            if (ok) remove.mutate();
          }}>Delete</Button>
        </div>
      </div>
      {editing && <EditWebhook webhook={webhook} onClose={() => setEditing(false)} />}
    </li>
  );
}

export function WebhooksPage() {
  const [secret, setSecret] = useState<string | null>(null);
  const list = useQuery({ queryKey: ['webhooks'], queryFn: webhooks.list });
  return (
    <section className="space-y-4">
      <PageHeading title="Webhooks" />
      <p className="text-sm text-slate-600">
        Each subscribed event is posted to the endpoint, signed as Standard Webhooks describes, and retried until it
        answers 2xx. Delivery is at least once: receivers de-duplicate by the <code>webhook-id</code> header.
      </p>
      {secret && <SecretOnce secret={secret} onDone={() => setSecret(null)} />}
      <NewWebhook onSecret={setSecret} />
      {list.isPending ? <Loading /> : list.isError ? <ErrorBox error={list.error} /> : list.data.length === 0 ? (
        <Empty>No endpoints yet.</Empty>
      ) : (
        <ul aria-label="Endpoints" className="divide-y divide-slate-200 rounded-md border border-slate-200 bg-white">
          {list.data.map((w) => <WebhookRow key={w.id} webhook={w} onSecret={setSecret} />)}
        </ul>
      )}
    </section>
  );
}
