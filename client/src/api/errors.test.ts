import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { fieldError, formError, toApiError } from './errors';

const apiErr = (status: number, error: unknown) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);

describe('API errors', () => {
  const e = apiErr(422, { code: 'validation_failed', message: 'Quantity must be 1 to 1000.', field: 'items[0].quantity' });

  it('reads the envelope', () => {
    expect(toApiError(e)).toMatchObject({ code: 'validation_failed', status: 422, field: 'items[0].quantity' });
  });
  it('puts the message by the field it names, and by its parents', () => {
    expect(fieldError(e, 'items[0]')).toBe('Quantity must be 1 to 1000.');
    expect(fieldError(e, 'items[0].quantity')).toBe('Quantity must be 1 to 1000.');
    expect(fieldError(e, 'items[1]')).toBeUndefined();
  });
  it('shows a form-level message only when no known field takes it', () => {
    expect(formError(e, ['items[0]'])).toBeUndefined();
    expect(formError(apiErr(409, { code: 'email_taken', message: 'Taken.' }), ['email'])).toBe('Taken.');
  });
  it('explains a network failure', () => {
    expect(toApiError(new AxiosError('Network Error')).code).toBe('network_error');
  });
});
