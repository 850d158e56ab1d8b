import { describe, expect, it } from 'vitest';
import { SEARCH_HINT, parseOrderSearch, readNumber, searchParams, searchText } from './search';
import { orderName } from './words';

describe('the orders search box', () => {
  it('reads an order number with or without #', () => {
    expect(parseOrderSearch('#1042')).toEqual({ kind: 'number', number: 1042 });
    expect(parseOrderSearch(' 1042 ')).toEqual({ kind: 'number', number: 1042 });
    expect(parseOrderSearch('# 7')).toEqual({ kind: 'number', number: 7 });
    expect(searchParams(parseOrderSearch('1042'))).toEqual({ number: 1042 });
  });

  it('reads anything with an @ as a customer e-mail address, as typed', () => {
    expect(parseOrderSearch(' Ada@Example.COM ')).toEqual({ kind: 'customer', email: 'Ada@Example.COM' });
    expect(searchParams(parseOrderSearch('ada@x.test'))).toEqual({ customer: 'ada@x.test' });
  });

  it('reads words with letters as a customer\'s name', () => {
    expect(parseOrderSearch(' Ada   Lovelace ')).toEqual({ kind: 'name', name: 'Ada Lovelace' });
    expect(searchParams(parseOrderSearch('Zoë'))).toEqual({ customer_name: 'Zoë' });
    expect(parseOrderSearch('a b c d e f').kind).toBe('invalid');
    expect(searchText({ customer_name: 'Ada Lovelace' })).toBe('Ada Lovelace');
  });

  it('asks nothing for anything else, and says what it takes', () => {
    expect(parseOrderSearch('')).toEqual({ kind: 'none' });
    expect(parseOrderSearch('   ')).toEqual({ kind: 'none' });
    expect(parseOrderSearch('#10a')).toEqual({ kind: 'invalid', hint: SEARCH_HINT });
    expect(parseOrderSearch('-5')).toEqual({ kind: 'invalid', hint: SEARCH_HINT });
    expect(parseOrderSearch('#0')).toEqual({ kind: 'invalid', hint: 'Order numbers start at #1.' });
    expect(parseOrderSearch('99999999999999999999').kind).toBe('invalid');
    expect(searchParams(parseOrderSearch('#10a'))).toEqual({});
  });

  it('reads the address back into the box', () => {
    expect(readNumber('1042')).toBe(1042);
    expect(readNumber('0')).toBeUndefined();
    expect(readNumber('12x')).toBeUndefined();
    expect(readNumber(null)).toBeUndefined();
    expect(searchText({ number: 1042 })).toBe('#1042');
    expect(searchText({ customer: 'ada@x.test' })).toBe('ada@x.test');
    expect(searchText({})).toBe('');
  });

  it('names an order by number, or by its id for an order from before numbers', () => {
    expect(orderName({ id: 'abcdef0123456789', number: 1042 })).toBe('#1042');
    expect(orderName({ id: 'abcdef0123456789', number: null })).toBe('…23456789');
    expect(orderName({ id: 'abcdef0123456789' })).toBe('…23456789');
  });
});
