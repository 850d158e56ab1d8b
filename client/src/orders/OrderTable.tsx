import { Link } from 'react-router';
import type { Order } from '../api/types';
import { DataTable } from '../components/DataTable';
import { Money, StatusBadge, formatTime } from '../components/ui';
import { CUSTOMER_ACCOUNT, orderName } from './words';

/** Which customer's orders to show: by e-mail address, or (orders placed before they named their customer) by user id. */
export type CustomerFilter = { customer: string } | { user_id: string };

/** The customer as the order names them, a button that shows only their orders. */
function CustomerCell({ order: o, onCustomer }: { order: Order; onCustomer(filter: CustomerFilter): void }) {
  const c = o.customer;
  if (c) {
    return (
      <button type="button" className="text-left text-indigo-700 underline" title="Show only this customer's orders"
        onClick={() => onCustomer({ customer: c.email })}>
        <span className="block">{c.name || c.email}</span>
        {c.name && <span className="block text-xs text-slate-600">{c.email}</span>}
        <span className="sr-only">: only this customer's orders</span>
      </button>
    );
  }
  // An order from before orders named their customer: its account, by no name (and never by its id), still finds
  // that customer's orders.
  return (
    <button type="button" className="text-left text-slate-700 underline" title="Show only this customer's orders"
      onClick={() => onCustomer({ user_id: o.user_id })}>
      <span className="block">{CUSTOMER_ACCOUNT}</span>
      <span className="block text-xs text-slate-600">not named on this order</span>
      <span className="sr-only">: only this customer's orders</span>
    </button>
  );
}

/** `onCustomer`, when given, adds the customer column whose button shows only that customer's orders. */
export function OrderTable({ items, onCustomer }: { items: Order[]; onCustomer?(filter: CustomerFilter): void }) {
  return (
    <DataTable
      label="Orders"
      rows={items}
      rowKey={(o) => o.id}
      columns={[
        {
          header: 'Order', primary: true,
          cell: (o) => (
            <Link className="font-mono text-indigo-700 underline" to={`/orders/${o.id}`}>
              {orderName(o)}
            </Link>
          ),
        },
        ...(onCustomer ? [{
          header: 'Customer',
          cell: (o: Order) => <CustomerCell order={o} onCustomer={onCustomer} />,
        }] : []),
        { header: 'Status', cell: (o) => <StatusBadge status={o.status} /> },
        { header: 'Items', cell: (o) => o.items.reduce((n, l) => n + l.quantity, 0) },
        { header: 'Total', cell: (o) => <Money value={o.total} /> },
        { header: 'Placed', cell: (o) => formatTime(o.created_at) },
      ]}
    />
  );
}
