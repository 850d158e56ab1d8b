// Money as people type and read it. Amounts travel in minor units; how many digits a currency has after
// the decimal point is ISO 4217's minor-unit exponent (JPY 0, USD 2, KWD 3). The table is the server's:
// the API's OpenAPI document (client/openapi.json, generated from the code) carries it as
// `x-currency-minor-units`, so the client cannot disagree with the server about a currency.
import type { Money } from './api/types';
import document from '../openapi.json';
import { LIMITS } from './api/limits';

const EXPONENTS: Record<string, number> = document['x-currency-minor-units'];

/** The largest price the API accepts, in minor units (`ProductForm.price`'s maximum in the document). */
export const MAX_PRICE_MINOR: number = LIMITS.product.price.maximum;

export function minorDigits(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

/** Every currency the API accepts. */
export const CURRENCIES: readonly string[] = Object.keys(EXPONENTS);

export function formatMoney(m: Money | null | undefined, locale?: string): string {
  if (!m) return '—';
  const digits = minorDigits(m.currency);
  const major = m.amount / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency', currency: m.currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${m.currency}`;
  }
}

/** Minor units as the plain text a price field starts with (`4999` USD → `49.99`, `1500` JPY → `1500`). */
export function minorToInput(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  if (digits === 0) return String(amount);
  const text = String(Math.abs(amount)).padStart(digits + 1, '0');
  return `${amount < 0 ? '-' : ''}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

export type Parsed = { ok: true; minor: number } | { ok: false; error: string };

/** The decimal separator of `locale` (`.` or `,`). */
function decimalSeparator(locale?: string): string {
  try {
    return new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
  } catch {
    return '.';
  }
}

/**
 * Reads a price typed in major units — `49.99`, `49,99`, `1,234.50`, `1.234,50`, `1 234,50` — into minor
 * units of `currency`, exactly (no floating point). Refuses what it cannot read for sure: letters, signs,
 * misplaced separators, more decimals than the currency has. A lone separator followed by exactly three
 * digits is ambiguous (`1,234`): it is grouping unless it is the user's locale's decimal separator.
 * The form shows the amount this gives before anything is saved.
 */
export function parseMoney(raw: string, currency: string, locale?: string): Parsed {
  const digits = minorDigits(currency);
  const text = raw.trim().replace(/[\s\u00a0\u202f']/g, '');
  if (text === '') return { ok: false, error: 'Enter a price.' };
  if (text.startsWith('-')) return { ok: false, error: 'A price cannot be negative.' };
  if (!/^[0-9.,]+$/.test(text) || !/[0-9]/.test(text)) {
    return { ok: false, error: 'Enter a price with digits only, like 49.99 or 49,99.' };
  }
  const seps = [...text].filter((c) => c === '.' || c === ',');
  let decimal: string | null = null;
  if (new Set(seps).size === 2) {
    decimal = text.lastIndexOf('.') > text.lastIndexOf(',') ? '.' : ',';
  } else if (seps.length === 1) {
    const sep = seps[0];
    const after = text.length - text.indexOf(sep) - 1;
    // `1,234` is a thousand where the locale groups with `,`; `49,99` can only be decimals.
    const grouping = after === 3 && sep !== decimalSeparator(locale);
    decimal = grouping ? null : sep;
  } else if (seps.length > 1) {
    decimal = null; // `1,234,567`: grouping only
  }
  const [whole, fraction = '', ...rest] = decimal ? text.split(decimal) : [text];
  if (rest.length > 0) return { ok: false, error: 'Use one decimal separator.' };
  const group = decimal === '.' ? ',' : '.';
  if (fraction.includes(group) || fraction.includes(decimal === ',' ? '.' : ',')) {
    return { ok: false, error: 'Put the decimals last, like 1,234.50.' };
  }
  const groups = whole.split(/[.,]/);
  if (groups.length > 1 && (groups[0] === '' || groups.slice(1).some((g) => g.length !== 3))) {
    return { ok: false, error: 'Check the thousands separators, like 1,234.50.' };
  }
  if (decimal && fraction === '') return { ok: false, error: 'Enter the decimals after the separator, or leave it out.' };
  if (fraction.length > digits) {
    return {
      ok: false,
      error: digits === 0
        ? `${currency} amounts have no decimals: enter a whole number.`
        : `${currency} amounts have at most ${digits} decimal${digits === 1 ? '' : 's'}.`,
    };
  }
  const minorText = `${groups.join('')}${fraction.padEnd(digits, '0')}`.replace(/^0+(?=\d)/, '');
  if (minorText.length > 12 || Number(minorText) > MAX_PRICE_MINOR) {
    return { ok: false, error: `At most ${formatMoney({ amount: MAX_PRICE_MINOR, currency }, locale)}.` };
  }
  return { ok: true, minor: Number(minorText) };
}
