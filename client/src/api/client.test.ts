import { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it, vi } from 'vitest';
import { createApi } from './client';
import { createSessionStore, HINT_KEY, type StoredSession } from './tokens';

const user = { id: 'u1', email: 'a@b.c', name: 'A', role: 'user' as const };

/**
 * A fake server: `valid` is the access token it accepts; `cookie` is the browser's refresh cookie, which
 * works once and is replaced by each refresh (as the HttpOnly cookie is).
 */
function fakeServer() {
  const state = {
    valid: 'access-1', refreshes: 0, cookie: 'refresh-1' as string | null, spent: new Set<string>(),
    calls: [] as string[], loggedOut: [] as string[],
  };
  const respond = (config: InternalAxiosRequestConfig, status: number, data: unknown): AxiosResponse => {
    const response = { status, data, headers: {}, config, statusText: '' } as AxiosResponse;
    if (status >= 400) throw new AxiosError('fail', 'ERR_BAD_RESPONSE', config, null, response);
    return response;
  };
  const adapter: AxiosAdapter = async (config) => {
    state.calls.push(`${config.method} ${config.url}`);
    await new Promise((r) => setTimeout(r, config.url === '/api/slow' ? 80 : 5));
    if (config.url === '/api/auth/refresh') {
      expect(JSON.parse(config.data as string)).toEqual({});
      const cookie = state.cookie;
      if (!cookie || state.spent.has(cookie)) {
        return respond(config, 401, { error: { code: 'invalid_refresh_token', message: 'Session expired.' } });
      }
      state.spent.add(cookie);
      state.refreshes += 1;
      state.valid = `access-${state.refreshes + 1}`;
      state.cookie = `refresh-${state.refreshes + 1}`;
      return respond(config, 200, { user, access_token: state.valid, token_type: 'Bearer', expires_in: 900 });
    }
    const auth = config.headers.get('Authorization');
    if (auth !== `Bearer ${state.valid}`) {
      return respond(config, 401, { error: { code: 'token_expired', message: 'Sign in.' } });
    }
    if (config.url === '/api/auth/logout') {
      state.loggedOut.push(String(auth));
      state.cookie = null;
      return respond(config, 204, '');
    }
    return respond(config, 200, { ok: true, url: config.url });
  };
  return { state, adapter };
}

function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k),
    clear: () => m.clear(), key: (i) => [...m.keys()][i] ?? null, get length() { return m.size; },
  };
}

function setup(session: StoredSession | null = { access: 'access-1', user }) {
  const server = fakeServer();
  const storage = memoryStorage();
  const store = createSessionStore(storage);
  store.set(session);
  const api = createApi(store, { adapter: server.adapter });
  return { server, store, storage, api };
}

describe('the API client', () => {
  it('sends the access token', async () => {
    const { api } = setup();
    await expect(api.http.get('/api/orders')).resolves.toMatchObject({ data: { ok: true } });
  });

  it('keeps no token in storage: only who is signed in', async () => {
    const { storage } = setup();
    expect(storage.length).toBe(1);
    expect(JSON.parse(storage.getItem(HINT_KEY)!)).toEqual(user);
    expect(JSON.stringify([...Array(storage.length)].map((_, i) => storage.getItem(storage.key(i)!)))).not.toContain('access-1');
  });

  it('refreshes once through the cookie when the access token has expired, then retries', async () => {
    const { api, server, store } = setup();
    server.state.valid = 'nobody';
    await expect(api.http.get('/api/orders')).resolves.toMatchObject({ data: { ok: true } });
    expect(server.state.refreshes).toBe(1);
    expect(store.get()).toMatchObject({ access: 'access-2', user });
  });

  it('makes one refresh for many requests that fail at once (rotating refresh tokens)', async () => {
    const { api, server } = setup();
    server.state.valid = 'nobody';
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => api.http.get(`/api/orders/${i}`)));
    expect(results.every((r) => (r.data as { ok: boolean }).ok)).toBe(true);
    expect(server.state.calls.filter((c) => c.includes('/refresh'))).toHaveLength(1);
  });

  it('does not refresh again for a request sent with a token that was replaced meanwhile', async () => {
    const { api, server } = setup();
    server.state.valid = 'nobody';
    const slow = api.http.get('/api/slow');
    await api.http.get('/api/fast');
    expect(server.state.refreshes).toBe(1);
    await expect(slow).resolves.toMatchObject({ data: { ok: true } });
    expect(server.state.refreshes).toBe(1);
  });

  it('signs out when the refresh cookie is refused', async () => {
    const { api, server, store } = setup();
    server.state.valid = 'nobody';
    server.state.cookie = null;
    await expect(api.http.get('/api/orders')).rejects.toBeInstanceOf(AxiosError);
    expect(store.get()).toBeNull();
    expect(store.hint()).toBeNull();
  });

  it('resumes a session after a reload from the cookie, and only when someone was signed in', async () => {
    const { api, server, store, storage } = setup(null);
    await api.resume();
    expect(server.state.calls).toEqual([]);
    storage.setItem(HINT_KEY, JSON.stringify(user));
    await api.resume();
    expect(server.state.calls).toEqual(['post /api/auth/refresh']);
    expect(store.get()).toMatchObject({ access: 'access-2', user });
  });

  it('signs a session out with its own access token once the store has forgotten it', async () => {
    const { api, server, store } = setup();
    const session = store.get()!;
    store.set(null);
    await api.signOut(session);
    expect(server.state.calls).toEqual(['post /api/auth/logout']);
    expect(server.state.loggedOut).toEqual(['Bearer access-1']);
  });

  it('signs out a session whose access token has expired by refreshing it once', async () => {
    const { api, server, store } = setup({ access: 'expired', user });
    store.set(null);
    await api.signOut({ access: 'expired', user });
    expect(server.state.calls).toEqual(['post /api/auth/logout', 'post /api/auth/refresh', 'post /api/auth/logout']);
    expect(server.state.loggedOut).toEqual(['Bearer access-2']);
    expect(store.get()).toBeNull();
  });

  it('does not try to refresh a failed sign-in', async () => {
    const { api, server } = setup(null);
    const spy = vi.spyOn(api, 'refresh');
    await expect(api.http.post('/api/auth/login', { email: 'x', password: 'y' })).rejects.toBeInstanceOf(AxiosError);
    expect(spy).not.toHaveBeenCalled();
    expect(server.state.refreshes).toBe(0);
  });
});
