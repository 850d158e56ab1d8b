import { createElement } from 'react';
import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import document from '../../openapi.json';
import { LIMITS, lengthHint, limit } from './limits';
import { MAX_LINE_QUANTITY } from '../cart/CartContext';
import { RegisterPage } from '../pages/AuthPages';
import { renderAt } from '../test/render';

describe('the API limits, read from the OpenAPI document', () => {
  it('reads each bound from the document', () => {
    expect(limit('RegisterIn', 'password')).toEqual({ minLength: 8, maxLength: 128 });
    expect(limit('LineIn', 'quantity')).toEqual({ minimum: 1, maximum: 1000 });
    expect(limit('ProductForm', 'sku')).toMatchObject({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]{1,64}$' });
    expect(limit('OrderIn', 'items')).toMatchObject({ minItems: 1, maxItems: 50 });
    expect(limit('WebhookIn', 'url')).toEqual({ maxLength: 2000 });
    // The same numbers as the document itself says, not copies of them.
    const schemas = document.components.schemas;
    expect(LIMITS.register.password.maxLength).toBe(schemas.RegisterIn.properties.password.maxLength);
    expect(LIMITS.stock.reason.maxLength).toBe(schemas.StockIn.properties.reason.maxLength);
    expect(LIMITS.product.name.maxLength).toBe(schemas.ProductForm.properties.name.maxLength);
    expect(MAX_LINE_QUANTITY).toBe(schemas.LineIn.properties.quantity.maximum);
  });

  it('fails loudly on a schema or property the document does not have', () => {
    // @ts-expect-error: not a schema of the document
    expect(() => limit('NoSuchSchema', 'x')).toThrow(/no schema NoSuchSchema/);
    // @ts-expect-error: not a property of RegisterIn
    expect(() => limit('RegisterIn', 'nickname')).toThrow(/no property RegisterIn.nickname/);
  });

  it('words a length as a hint', () => {
    expect(lengthHint(LIMITS.register.password)).toBe('8–128 characters');
    expect(lengthHint({ maxLength: 500 })).toBe('At most 500 characters');
    expect(lengthHint({ minLength: 1, maxLength: 100 })).toBe('At most 100 characters');
  });

  it('puts the bounds on the sign-up form', () => {
    renderAt('/register', { '/register': createElement(RegisterPage) });
    const password = screen.getByLabelText('Password');
    expect(password).toHaveAttribute('maxLength', '128');
    expect(password).toHaveAttribute('minLength', '8');
    expect(password).toHaveAccessibleDescription('8–128 characters.');
    expect(screen.getByLabelText('Name')).toHaveAttribute('maxLength', '100');
  });
});
