// Orders and products named for people where the API gives only their ids (operators' pages: dead letters, verify):
// each is looked up (with the same queries, and cache, as its own page) and shown as a link by number or name.
import { Fragment } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { orders, products } from '../api';
import { orderName } from '../orders/words';
import { UUID } from './reference';

const link = 'text-indigo-700 underline';

/** "order #1042", a link to it; "an order" while it loads, "an order no longer on record" when it cannot be read. */
export function OrderRef({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['order', id], queryFn: () => orders.get(id), retry: false, staleTime: 60_000 });
  if (q.data) return <Link className={link} to={`/orders/${id}`}>order {orderName(q.data)}</Link>;
  return <>{q.isError ? 'an order no longer on record' : 'an order'}</>;
}

/** The product's name (or `name`, the one a message carried, until it is read), a link to its admin page. */
export function ProductRef({ id, name }: { id: string; name?: string }) {
  const q = useQuery({ queryKey: ['product', id], queryFn: () => products.get(id), retry: false, staleTime: 60_000 });
  const shown = q.data?.name ?? name;
  if (shown) return <Link className={link} to={`/admin/products/${id}`}>{shown}</Link>;
  return <>{q.isError ? 'a product no longer on record' : 'a product'}</>;
}

/** `text` with each product id in it (verify's details name products by id) shown as the product. */
export function WithProductNames({ text }: { text: string }) {
  const parts = text.split(new RegExp(`(${UUID.source})`, 'gi'));
  return <>{parts.map((p, i) => (i % 2 === 1 ? <ProductRef key={i} id={p} /> : <Fragment key={i}>{p}</Fragment>))}</>;
}
