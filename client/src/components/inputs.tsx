// Inputs for numbers that must not be entered wrong: a price field that reads `49,99` and `49.99` in the
// currency's own decimals and says what will be saved, and a quantity stepper bounded by the stock.
import { useEffect, useId, useState } from 'react';
import { formatMoney, parseMoney } from '../money';
import { LIMITS } from '../api/limits';

/** The API's limit on one order line (`LineIn.quantity`'s maximum in the OpenAPI document). */
const LINE_MAX = LIMITS.line.quantity.maximum;

const inputClass =
  'block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 aria-[invalid=true]:border-red-600';

/**
 * A price typed in major units. `value` is the text as typed; what it reads as (or why it cannot be read) is
 * shown under it, and the form saves `parseMoney(value, currency).minor` only when it reads.
 */
export function MoneyField({ label, value, currency, onChange, error, id: givenId }: {
  label: string;
  value: string;
  currency: string;
  onChange(text: string): void;
  /** The server's (or the form's) error for this field. */
  error?: string;
  id?: string;
}) {
  const own = useId();
  const id = givenId ?? own;
  const parsed = parseMoney(value, currency);
  const [touched, setTouched] = useState(false);
  const ownError = touched && value.trim() !== '' && !parsed.ok ? parsed.error : undefined;
  const shown = error ?? ownError;
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">{label} ({currency || '?'})</label>
      <input id={id} type="text" inputMode="decimal" autoComplete="off" value={value}
        onChange={(e) => onChange(e.target.value)} onBlur={() => setTouched(true)}
        aria-invalid={shown ? true : undefined} aria-describedby={`${id}-note`} className={`mt-1 ${inputClass}`} />
      <p id={`${id}-note`} className={`mt-1 text-sm ${shown ? 'text-red-700' : 'text-slate-600'}`} role={shown ? 'alert' : undefined}
        data-testid="money-preview">
        {shown ?? (parsed.ok ? `Saved as ${formatMoney({ amount: parsed.minor, currency: currency || 'USD' })}` : 'For example 49.99 or 49,99')}
      </p>
    </div>
  );
}

/**
 * A whole number from 1 to `max`, with − and + buttons. What is typed is kept as typed until it reads as a
 * quantity in range (then `onChange` gets it); anything else is shown as an error and never becomes a number.
 * A number above `max` becomes `max` at once (and `onCapped` says so). `max` is never taken above the API's
 * limit per order line (`LineIn.quantity`'s maximum).
 */
export function QuantityStepper({ label, value, max: stockMax, onChange, onCapped, onValidity, error, compact = false }: {
  label: string;
  value: number;
  max: number;
  onChange(n: number): void;
  onCapped?(max: number): void;
  /** Told whether what is typed is a quantity (a form blocks its submit while it is not). */
  onValidity?(ok: boolean): void;
  error?: string;
  compact?: boolean;
}) {
  const id = useId();
  // Never more than the API takes on one line, whatever the stock.
  const max = Math.min(stockMax, LINE_MAX);
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const text = draft.trim();
  const whole = /^-?\d+$/.test(text) ? Number(text) : NaN;
  const problem =
    text === '' ? 'Enter a quantity.'
      : !/^-?\d+$/.test(text) ? 'Enter a whole number, like 3.'
        : whole < 1 ? 'At least 1 (or remove the item).'
          : whole > max ? (max < 1 ? 'Out of stock.' : max < stockMax ? `At most ${max} per order.` : `Only ${max} available.`)
            : undefined;
  const shown = problem ?? error;
  const valid = problem === undefined;
  useEffect(() => onValidity?.(valid), [valid, onValidity]);
  const set = (n: number) => {
    const capped = Math.max(1, Math.min(n, max));
    setDraft(String(capped));
    if (capped !== value) onChange(capped);
  };
  return (
    <div className={compact ? '' : 'space-y-1'}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">{label}</label>
      <div className="flex items-center gap-1">
        {/* The sign is for the eye; the button's name is its words (an aria-label over a lone "−" leaves axe unable to
            tell whether the visible text is part of the name). */}
        <button type="button" disabled={value <= 1}
          className="h-9 w-9 rounded-md border border-slate-300 bg-white text-lg font-semibold text-slate-800 disabled:opacity-50"
          onClick={() => set(value - 1)}><span aria-hidden="true">−</span><span className="sr-only">One fewer: {label}</span></button>
        {/* A spin button (the arrow keys step it) with its bounds; text rather than type=number, so that what is
            typed ("2.5", "") is kept and answered rather than silently emptied by the browser. */}
        <input id={id} type="text" role="spinbutton" inputMode="numeric" autoComplete="off" value={draft}
          aria-valuemin={1} aria-valuemax={Math.max(max, 1)} aria-valuenow={valid ? whole : undefined}
          aria-invalid={shown ? true : undefined} aria-describedby={shown ? `${id}-error` : undefined}
          className="h-9 w-16 rounded-md border border-slate-300 bg-white px-2 text-center text-sm aria-[invalid=true]:border-red-600"
          onChange={(e) => {
            const next = e.target.value;
            setDraft(next);
            if (/^\d+$/.test(next.trim())) {
              const n = Number(next.trim());
              if (n > max && max >= 1) {
                // More than there is: the most there is, said at once.
                set(max);
                onCapped?.(max);
              } else if (n >= 1 && n <= max && n !== value) onChange(n);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowUp') { e.preventDefault(); set(value + 1); }
            if (e.key === 'ArrowDown') { e.preventDefault(); set(value - 1); }
          }} />
        <button type="button" disabled={value >= max}
          className="h-9 w-9 rounded-md border border-slate-300 bg-white text-lg font-semibold text-slate-800 disabled:opacity-50"
          onClick={() => set(value + 1)}><span aria-hidden="true">+</span><span className="sr-only">One more: {label}</span></button>
      </div>
      {shown && <p id={`${id}-error`} role="alert" className="text-sm text-red-700">{shown}</p>}
    </div>
  );
}
