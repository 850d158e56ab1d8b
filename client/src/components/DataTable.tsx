// A table on wide screens, a list of cards on phones (the same cells, each with its column's name), so that
// nothing scrolls sideways at 390 px. Only one of the two is displayed; the other is hidden from everyone.
import type { ReactNode } from 'react';

export interface Column<T> {
  header: string;
  cell(row: T): ReactNode;
  /** Shown as the card's title on phones instead of a labelled line. */
  primary?: boolean;
  className?: string;
}

export function DataTable<T>({ rows, columns, rowKey, label, caption, rowClassName }: {
  rows: T[];
  columns: Column<T>[];
  rowKey(row: T): string;
  /** The table's accessible name (and the card list's). */
  label: string;
  caption?: ReactNode;
  rowClassName?(row: T): string;
}) {
  return (
    <>
      <div className="hidden overflow-x-auto sm:block">
        <table aria-label={caption ? undefined : label} className="min-w-full divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm">
          {caption && <caption className="p-2 text-left font-semibold">{caption}</caption>}
          <thead className="bg-slate-50 text-left">
            <tr>{columns.map((c) => <th key={c.header} scope="col" className="p-2">{c.header}</th>)}</tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {rows.map((r) => (
              <tr key={rowKey(r)} className={rowClassName?.(r)}>
                {columns.map((c) => <td key={c.header} className={`p-2 ${c.className ?? ''}`}>{c.cell(r)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="sm:hidden">
        {caption && <h2 className="mb-2 font-semibold">{caption}</h2>}
        <ul aria-label={label} className="space-y-2">
          {rows.map((r) => (
            <li key={rowKey(r)} className={`rounded-lg border border-slate-200 bg-white p-3 text-sm ${rowClassName?.(r) ?? ''}`}>
              {columns.filter((c) => c.primary).map((c) => (
                <div key={c.header} className="mb-1 font-semibold break-words">{c.cell(r)}</div>
              ))}
              <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                {columns.filter((c) => !c.primary).map((c) => (
                  <div key={c.header} className="contents">
                    <dt className="text-slate-600">{c.header}</dt>
                    <dd className="min-w-0 break-words">{c.cell(r)}</dd>
                  </div>
                ))}
              </dl>
            </li>
          ))}
        </ul>
      </div>
    </>
  );
}
