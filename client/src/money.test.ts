import { describe, expect, it } from 'vitest';
import { formatMoney, minorToInput, parseMoney } from './money';

const ok = (minor: number) => ({ ok: true, minor });

describe('reading a typed price', () => {
  it.each([
    ['49.99', 'USD', 4999],
    ['49,99', 'USD', 4999],
    ['49', 'USD', 4900],
    ['49.9', 'USD', 4990],
    [' 1,234.50 ', 'USD', 123450],
    ['1.234,50', 'EUR', 123450],
    ['1 234,50', 'EUR', 123450],
    ['1,234', 'USD', 123400],
    ['0.05', 'USD', 5],
    ['1500', 'JPY', 1500],
    ['12.345', 'KWD', 12345],
    ['12,345', 'KWD', 12345000],
    ['0', 'USD', 0],
  ])('%s %s → %i minor units', (text, currency, minor) => {
    expect(parseMoney(text, currency, 'en-US')).toEqual(ok(minor));
  });

  it('reads a lone comma before three digits as decimals where the locale says so', () => {
    expect(parseMoney('12,345', 'KWD', 'de-DE')).toEqual(ok(12345));
    expect(parseMoney('1.234', 'EUR', 'de-DE')).toEqual(ok(123400));
  });

  it.each([
    ['', 'USD', 'Enter a price.'],
    ['-5', 'USD', 'A price cannot be negative.'],
    ['12abc', 'USD', 'Enter a price with digits only, like 49.99 or 49,99.'],
    ['49.999', 'USD', 'USD amounts have at most 2 decimals.'],
    ['1500.5', 'JPY', 'JPY amounts have no decimals: enter a whole number.'],
    ['1,2,3', 'USD', 'Check the thousands separators, like 1,234.50.'],
    ['49.', 'USD', 'Enter the decimals after the separator, or leave it out.'],
    ['10000000000', 'USD', 'At most $10,000,000.00.'],
  ])('refuses %j in %s', (text, currency, error) => {
    expect(parseMoney(text, currency, 'en-US')).toEqual({ ok: false, error });
  });
});

describe('showing money', () => {
  it('uses each currency\'s own decimals', () => {
    expect(formatMoney({ amount: 4999, currency: 'USD' }, 'en-US')).toBe('$49.99');
    expect(formatMoney({ amount: 1500, currency: 'JPY' }, 'en-US')).toBe('¥1,500');
    expect(formatMoney({ amount: 12345, currency: 'KWD' }, 'en-US')).toBe('KWD\u00a012.345');
  });
  it('puts minor units back in a field as typed', () => {
    expect(minorToInput(4999, 'USD')).toBe('49.99');
    expect(minorToInput(5, 'USD')).toBe('0.05');
    expect(minorToInput(1500, 'JPY')).toBe('1500');
    expect(minorToInput(12345, 'KWD')).toBe('12.345');
  });
});
