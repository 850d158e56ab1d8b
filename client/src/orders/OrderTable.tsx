import { Link } from 'react-router';
import type { Order } from '../api/types';
import { Money, StatusBadge, formatTime } from '../components/ui';

/** `onUser`, when given, makes each user id a button (the admin's "only this user's orders"). */
export function OrderTable({ items, showUser = false, onUser }: { items: Order[]; showUser?: boolean; onUser?(userId: string): void }) {
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
        <thead className="bg-slate-50 text-left">
          <tr>
            <th className="p-2">Order</th>
            {showUser && <th className="p-2">User</th>}
            <th className="p-2">Status</th><th className="p-2">Lines</th><th className="p-2">Total</th><th className="p-2">Created</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {items.map((o) => (
            <tr key={o.id}>
              <td className="p-2"><Link className="font-mono text-indigo-700 underline" to={`/orders/${o.id}`}>{o.id.slice(-8)}</Link></td>
              {showUser && (
                <td className="p-2 font-mono text-xs">
                  {onUser ? (
                    <button type="button" className="text-left text-indigo-700 underline" title="Show only this user's orders"
                      aria-label={`Only orders of user ${o.user_id}`} onClick={() => onUser(o.user_id)}>
                      {o.user_id}
                    </button>
                  ) : o.user_id}
                </td>
              )}
              <td className="p-2"><StatusBadge status={o.status} /></td>
              <td className="p-2">{o.items.length}</td>
              <td className="p-2"><Money value={o.total} /></td>
              <td className="p-2">{formatTime(o.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
