import { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it, vi } from 'vitest';
import { createApi } from './client';
import { createSessionStore, type StoredSession } from './tokens';

const user = { id: 'u1', email: 'a@b.c', name: 'A', role: 'user' as const };

/** A fake server: `valid` is the access token it accepts; each refresh token works once. */
function fakeServer() {
  const state = {
    valid: 'access-1', refreshes: 0, spent: new Set<string>(), liveRefresh: 'refresh-1', calls: [] as string[],
    /** The refresh tokens of the sessions signed out. */
    loggedOut: [] as string[],
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
      const { refresh_token } = JSON.parse(config.data as string) as { refresh_token: string };
      if (refresh_token !== state.liveRefresh || state.spent.has(refresh_token)) {
        return respond(config, 401, { error: { code: 'invalid_token', message: 'Session expired.' } });
      }
      state.spent.add(refresh_token);
      state.refreshes += 1;
      state.valid = `access-${state.refreshes + 1}`;
      state.liveRefresh = `refresh-${state.refreshes + 1}`;
      return respond(config, 200, { user, access_token: state.valid, refresh_token: state.liveRefresh, token_type: 'Bearer', expires_in: 900 });
    }
    const auth = config.headers.get('Authorization');
    if (auth !== `Bearer ${state.valid}`) {
      return respond(config, 401, { error: { code: 'unauthenticated', message: 'Sign in.' } });
    }
    if (config.url === '/api/auth/logout') {
      state.loggedOut.push((JSON.parse(config.data as string) as { refresh_token: string }).refresh_token);
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

function setup(session: StoredSession | null = { access: 'access-1', refresh: 'refresh-1', user }) {
  const server = fakeServer();
  const store = createSessionStore(memoryStorage());
  store.set(session);
  const api = createApi(store, { adapter: server.adapter });
  return { server, store, api };
}

describe('the API client', () => {
  it('sends the access token', async () => {
    const { api } = setup();
    await expect(api.http.get('/api/orders')).resolves.toMatchObject({ data: { ok: true } });
  });

  it('refreshes once when the access token has expired, then retries', async () => {
    const { api, server, store } = setup();
    // The access token expired: the server accepts only the one the refresh will issue.
    server.state.valid = 'nobody';
    await expect(api.http.get('/api/orders')).resolves.toMatchObject({ data: { ok: true } });
    expect(server.state.refreshes).toBe(1);
    expect(store.get()).toMatchObject({ access: 'access-2', refresh: 'refresh-2' });
  });

  it('makes one refresh for many requests that fail at once (rotating refresh tokens)', async () => {
    const { api, server } = setup();
    server.state.valid = 'nobody';
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => api.http.get(`/api/orders/${i}`)));
    expect(results.every((r) => (r.data as { ok: boolean }).ok)).toBe(true);
    expect(server.state.refreshes).toBe(1);
    expect(server.state.calls.filter((c) => c.includes('/refresh'))).toHaveLength(1);
  });

  it('does not refresh again for a request sent with a token that was replaced meanwhile', async () => {
    const { api, server } = setup();
    server.state.valid = 'nobody';
    // The slow request leaves with access-1 and is answered 401 after the fast one has refreshed:
    // it must retry with access-2, not spend refresh-2.
    const slow = api.http.get('/api/slow');
    await api.http.get('/api/fast');
    expect(server.state.refreshes).toBe(1);
    await expect(slow).resolves.toMatchObject({ data: { ok: true } });
    expect(server.state.refreshes).toBe(1);
  });

  it('signs out when the refresh token is refused', async () => {
    const { api, server, store } = setup({ access: 'old', refresh: 'spent', user });
    server.state.valid = 'nobody';
    await expect(api.http.get('/api/orders')).rejects.toBeInstanceOf(AxiosError);
    expect(store.get()).toBeNull();
  });

  it('signs a session out with its own tokens once the store has forgotten them', async () => {
    const { api, server, store } = setup();
    const session = store.get()!;
    store.set(null);
    await api.signOut(session);
    expect(server.state.calls).toEqual(['post /api/auth/logout']);
    expect(server.state.loggedOut).toEqual(['refresh-1']);
  });

  it('signs out a session whose access token has expired by refreshing it once', async () => {
    const { api, server, store } = setup({ access: 'expired', refresh: 'refresh-1', user });
    store.set(null);
    await api.signOut({ access: 'expired', refresh: 'refresh-1', user });
    expect(server.state.calls).toEqual(['post /api/auth/logout', 'post /api/auth/refresh', 'post /api/auth/logout']);
    expect(server.state.loggedOut).toEqual(['refresh-2']);
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
