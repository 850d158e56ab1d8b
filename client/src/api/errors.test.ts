import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { describeError, describeField, fieldError, fieldErrors, formError, toApiError } from './errors';

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
  it('puts the precise reason beside a webhook URL and an analytics range', () => {
    const url = (message: string) => fieldError(apiErr(422, { code: 'unsafe_url', message: `url: ${message}`, field: 'url',
      details: [{ field: 'url', code: 'unsafe_url', message }] }), 'url');
    expect(url('must start with https://')).toBe('Use an address that starts with https://.');
    expect(url('resolves to 10.0.0.7, an address webhooks may not reach (loopback, private, link-local or reserved)'))
      .toBe('This address leads to a private network or this server: webhooks go only to public servers.');
    expect(url('does not resolve: failed to lookup address information')).toBe('No server answers to this address. Check it for typing mistakes.');
    expect(url('something new')).toBe('Webhooks can go only to a public https:// address. Check the endpoint URL.');
    const range = (field: string, message: string) => describeError(apiErr(422, { code: 'invalid_range', message: `${field}: ${message}`,
      field, details: [{ field, code: 'invalid_range', message }] }));
    expect(range('from', 'must be before `to`')).toBe('Choose a start day before the end day.');
    expect(range('from', 'a range covers at most 366 days')).toBe('Choose a range of at most 366 days.');
    expect(range('bucket', 'hourly buckets cover at most 31 days; ask for `day`'))
      .toBe('Figures by the hour cover at most 31 days: choose a shorter range, or show it by day.');
  });
  it('describes a request that names no field without the server\'s words', () => {
    expect(describeError(apiErr(422, { code: 'invalid_body', message: 'the body must be a JSON object', field: '',
      details: [{ field: '', code: 'invalid_body', message: 'the body must be a JSON object' }] })))
      .toBe('Some of what you entered could not be read. Check the form and try again.');
    expect(describeError(apiErr(409, { code: 'concurrent_change', message: 'the endpoint changed meanwhile; rotate again' })))
      .toBe('This was changed meanwhile, perhaps in another tab. Reload the page and try again.');
  });
});

/**
 * Every error code the server can send (api/src: `code: "..."`, the constructors of ApiError in error.rs, and the codes
 * passed to `unauthenticated`, `Fields::invalid` and `conflict_on_duplicate`). A new one fails the test below until it is
 * added here, and each of these fails the next test until it has a sentence for people.
 */
const SERVER_CODES = [
  // ApiError's own (api/src/error.rs).
  'malformed_request', 'forbidden', 'not_found', 'method_not_allowed', 'payload_too_large', 'unsupported_media_type',
  'rate_limited', 'service_unavailable', 'internal_error',
  // Fields.
  'validation_failed', 'invalid_body', 'invalid_query', 'unknown_field', 'invalid_range', 'unsafe_url', 'invalid_image',
  // Conflicts.
  'invalid_transition', 'idempotency_key_reused', 'email_taken', 'sku_taken', 'image_changed', 'nothing_to_retry',
  'concurrent_change',
  // Bad requests.
  'invalid_idempotency_key', 'cross_site_refresh',
  // Sessions.
  'unauthenticated', 'invalid_credentials', 'invalid_token', 'token_expired', 'invalid_refresh_token',
  'refresh_token_reused',
] as const;

/**
 * The server's Rust sources by path, when the client is tested inside the repository (it is, in CI). Read with
 * Node's fs (the tests run in Node; the app's type settings know no Node modules, hence the untyped import).
 */
async function rustSources(): Promise<Record<string, string>> {
  const fs = (await import(/* @vite-ignore */ ['node', 'fs'].join(':'))) as {
    existsSync(p: string): boolean;
    readdirSync(p: string, o: { recursive: true }): string[];
    readFileSync(p: string, e: 'utf8'): string;
  };
  // This file is client/src/api/errors.test.ts; the server's sources are api/src beside client.
  const here = decodeURIComponent(new URL(import.meta.url).pathname);
  const root = `${here.slice(0, here.lastIndexOf('/client/src/api/'))}/api/src/`;
  if (!here.includes('/client/src/api/') || !fs.existsSync(root)) return {};
  const files = fs.readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.rs'));
  return Object.fromEntries(files.map((f) => [f, fs.readFileSync(root + f, 'utf8')]));
}
const RUST = await rustSources();

/** The codes a Rust source can put in an error answer. */
function codesIn(path: string, text: string): string[] {
  const found: string[] = [];
  const add = (re: RegExp) => { for (const m of text.matchAll(re)) found.push(m[1]); };
  add(/\bcode: "([a-z_]+)"/g);
  add(/\bunauthenticated\(\s*"([a-z_]+)"/g);
  add(/\.invalid\(\s*[^,()]+(?:\([^()]*\))?,\s*"([a-z_]+)"/g);
  add(/\bconflict_on_duplicate\(\s*[^,]+,\s*"([a-z_]+)"/g);
  if (path === 'error.rs') {
    const fn = text.match(/pub fn code\(&self\)[\s\S]*?\n {4}\}\n/);
    if (fn) for (const m of fn[0].matchAll(/"([a-z_]+)"/g)) found.push(m[1]);
  }
  return found;
}

describe('every code the server sends', () => {
  it.skipIf(Object.keys(RUST).length === 0)('is in the list of server codes', () => {
    const inSources = new Set(Object.entries(RUST).flatMap(([path, text]) => codesIn(path, text)));
    // The extraction itself works: it finds codes of each kind of source.
    for (const c of ['malformed_request', 'invalid_token', 'sku_taken', 'unsafe_url']) expect(inSources).toContain(c);
    const listed: readonly string[] = SERVER_CODES;
    expect([...inSources].filter((c) => !listed.includes(c)).sort(), 'codes the server sends, missing here').toEqual([]);
    expect(listed.filter((c) => !inSources.has(c)), 'codes listed here that the server no longer sends').toEqual([]);
  });

  const RAW = 'raw words from the server';
  it.each(SERVER_CODES)('%s has a sentence for people', (code) => {
    // The whole answer, in a toast or above a form.
    const said = describeError(apiErr(400, { code, message: RAW }));
    expect(said).toMatch(/^[A-Z].*[.!?]$/);
    expect(said.toLowerCase()).not.toContain(RAW);
    // Beside a field, for every code that is not about a field's value (whose message says what to fix).
    if (!['validation_failed', 'invalid_body', 'invalid_query', 'unknown_field'].includes(code)) {
      const beside = describeField({ field: 'x', code, message: RAW });
      expect(beside).toMatch(/^[A-Z].*[.!?]$/);
      expect(beside.toLowerCase()).not.toContain(RAW);
    }
    // Naming no field.
    expect(describeField({ field: '', code, message: RAW }).toLowerCase()).not.toContain(RAW);
  });
});

