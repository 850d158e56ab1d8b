import { Link } from 'react-router';
import type { Order } from '../api/types';
import { DataTable } from '../components/DataTable';
import { Money, StatusBadge, formatTime } from '../components/ui';
import { shortId } from './words';

/** `onUser`, when given, adds the customer column whose button shows only that customer's orders. */
export function OrderTable({ items, onUser }: { items: Order[]; onUser?(userId: string): void }) {
  return (
    <DataTable
      label="Orders"
      rows={items}
      rowKey={(o) => o.id}
      columns={[
        {
          header: 'Order', primary: true,
          cell: (o) => <Link className="font-mono text-indigo-700 underline" to={`/orders/${o.id}`}>{shortId(o.id)}</Link>,
        },
        ...(onUser ? [{
          header: 'Customer',
          cell: (o: Order) => (
            // Orders do not carry the customer's name yet: the id's end tells customers apart.
            <button type="button" className="text-left font-mono text-xs text-indigo-700 underline" title="Show only this customer's orders"
              onClick={() => onUser(o.user_id)}>
              customer …{shortId(o.user_id)}<span className="sr-only">: only orders of user {o.user_id}</span>
            </button>
          ),
        }] : []),
        { header: 'Status', cell: (o) => <StatusBadge status={o.status} /> },
        { header: 'Items', cell: (o) => o.items.reduce((n, l) => n + l.quantity, 0) },
        { header: 'Total', cell: (o) => <Money value={o.total} /> },
        { header: 'Placed', cell: (o) => formatTime(o.created_at) },
      ]}
    />
  );
}
