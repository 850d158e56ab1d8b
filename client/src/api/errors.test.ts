import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { describeError, fieldError, fieldErrors, formError, toApiError } from './errors';

const apiErr = (status: number, error: unknown) =>
  new AxiosError('x', 'ERR', {} as InternalAxiosRequestConfig, null, { status, data: { error } } as AxiosResponse);

describe('API errors', () => {
  const e = apiErr(422, {
    code: 'validation_failed', message: 'items[0].quantity: must be between 1 and 1000', field: 'items[0].quantity',
    details: [{ field: 'items[0].quantity', code: 'validation_failed', message: 'must be between 1 and 1000' }],
  });

  it('reads the envelope', () => {
    expect(toApiError(e)).toMatchObject({ code: 'validation_failed', status: 422, field: 'items[0].quantity' });
  });
  it('puts a sentence by the field it names, and by its parents', () => {
    expect(fieldError(e, 'items[0]')).toBe('Enter a whole number from 1 to 1000.');
    expect(fieldError(e, 'items[0].quantity')).toBe('Enter a whole number from 1 to 1000.');
    expect(fieldError(e, 'items[1]')).toBeUndefined();
  });
  it('reads every field of details at once', () => {
    const all = apiErr(422, {
      code: 'validation_failed', message: 'name: must not be empty; email: must contain an @; password: must be at least 8 characters',
      field: 'name',
      details: [
        { field: 'name', code: 'validation_failed', message: 'must not be empty' },
        { field: 'email', code: 'validation_failed', message: 'must contain an @' },
        { field: 'password', code: 'validation_failed', message: 'must be at least 8 characters' },
      ],
    });
    expect(fieldErrors(all)).toHaveLength(3);
    expect(fieldError(all, 'name')).toBe('Name is required.');
    expect(fieldError(all, 'email')).toBe('Enter an e-mail address like ada@example.com.');
    expect(fieldError(all, 'password')).toBe('Use at least 8 characters.');
    expect(formError(all, ['name', 'email', 'password'])).toBeUndefined();
    expect(formError(all, ['name'])).toBe('Some fields need a fix: see the messages beside them.');
  });
  it('says what to do instead of the server\'s words', () => {
    expect(formError(apiErr(409, { code: 'email_taken', message: 'taken', field: 'email' }), ['password']))
      .toBe('An account with this e-mail address already exists. Sign in instead.');
    expect(describeError(apiErr(503, { code: 'service_unavailable', message: 'the message broker is unavailable' })))
      .toBe('Part of the shop is down for a moment. Nothing was changed: try again shortly.');
    expect(fieldError(apiErr(422, { code: 'invalid_body', message: 'delta: must be a whole number', field: 'delta' }), 'delta'))
      .toBe('Enter a whole number.');
    expect(fieldError(apiErr(422, { code: 'invalid_image', message: 'chunk dump', field: 'image' }), 'image'))
      .toBe('This image cannot be read: the file is damaged or incomplete. Choose another.');
  });
  it('explains a network failure', () => {
    expect(toApiError(new AxiosError('Network Error')).code).toBe('network_error');
    expect(describeError(new AxiosError('Network Error'))).toBe('Could not reach the shop. Check your connection and try again.');
  });
});
