// The lifecycle buttons for one order: only what the server says this caller may ask for (`allowed_next`);
// `actor` only picks the endpoint (an owner cancels; an admin transitions, with a reason). Refusals are shown.
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { orders } from '../api';
import type { Order } from '../api/types';
import { describeError } from '../api/errors';
import { LIMITS } from '../api/limits';
import { useFeedback } from '../components/feedback';
import { ACTION_LABEL, orderActions, type Action, type Actor } from './stateMachine';
import { useOrderEventListener } from './LiveEvents';
import { Button, ErrorBox } from '../components/ui';

export function OrderActions({ order, actor }: { order: Order; actor: Actor }) {
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const [refusal, setRefusal] = useState<string | null>(null);
  const next = orderActions(order);
  const { toast, confirm } = useFeedback();
  const m = useMutation({
    mutationFn: (to: Action) =>
      actor === 'owner' && to === 'CANCELLED'
        ? orders.cancel(order.id)
        : orders.transition(order.id, { status: to, reason: reason.trim() || null }),
    onMutate: () => setRefusal(null),
    onSuccess: (_, to) => {
      setReason('');
      toast(to === 'CANCELLED' ? 'Cancellation requested.' : `${ACTION_LABEL[to]}: requested.`);
      void qc.invalidateQueries({ queryKey: ['order', order.id] });
    },
  });
  // The worker may still refuse a request the API accepted (e.g. a race with another admin).
  useOrderEventListener((e) => {
    if (e.type === 'refused' && e.order_id === order.id) {
      setRefusal(`Refused: ${e.requested ?? 'the change'} — ${e.reason ?? 'not allowed from ' + e.status}`);
      toast('The order could not make that step: see why on the page.', 'error');
    }
  });
  if (next.length === 0) return null;
  return (
    <div className="space-y-2 rounded-lg border border-slate-200 bg-white p-3">
      <h2 className="text-sm font-semibold">Actions</h2>
      {actor === 'admin' && (
        <div>
          <label className="block text-sm">
            Reason (optional)
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={LIMITS.status.reason.maxLength}
              aria-describedby={`reason-hint-${order.id}`}
              className="mt-1 block w-full rounded-md border border-slate-300 bg-white px-2 py-1" />
          </label>
          <p id={`reason-hint-${order.id}`} className="mt-1 text-xs text-slate-600">
            At most {LIMITS.status.reason.maxLength} characters
          </p>
        </div>
      )}
      <div className="flex flex-wrap gap-2">
        {next.map((to) => (
          <Button key={to} variant={to === 'CANCELLED' ? 'danger' : 'primary'} disabled={m.isPending}
            onClick={async () => {
              // Cancelling gives the stock back and cannot be undone: ask first.
              if (to === 'CANCELLED' && !(await confirm({
                title: 'Cancel this order?',
                body: 'Its stock goes back on sale. A cancelled order cannot be reopened.',
                confirmLabel: 'Cancel order',
                cancelLabel: 'Keep the order',
              }))) return;
              m.mutate(to);
            }}>
            {ACTION_LABEL[to]}
          </Button>
        ))}
      </div>
      {m.error && <ErrorBox error={describeError(m.error)} />}
      {refusal && <ErrorBox error={refusal} />}
    </div>
  );
}
