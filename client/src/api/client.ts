// The Axios instance: adds the access token, and on a 401 refreshes once and retries.
// Refresh tokens rotate and reusing a spent one revokes the session, so refreshing is single-flight:
// one refresh at a time in this tab (a shared promise) and across tabs (a Web Lock, when the browser has them).
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { Session } from './types';
import type { SessionStore, StoredSession } from './tokens';

interface RetriableConfig extends InternalAxiosRequestConfig {
  _retried?: boolean;
  _sentWith?: string;
}

export interface Api {
  http: AxiosInstance;
  /** A fresh access token (refreshing at most once however many callers ask at the same time). */
  refresh(): Promise<string>;
  /**
   * Ends `session` on the server (its refresh token's chain) with its own tokens: the store is cleared first,
   * so the interceptor has none to add. An expired access token is exchanged once for a pair that can say so.
   */
  signOut(session: StoredSession): Promise<void>;
  store: SessionStore;
}

const AUTH_PATHS = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh'];

export function createApi(store: SessionStore, opts: { adapter?: AxiosAdapter; baseURL?: string } = {}): Api {
  const http = axios.create({ baseURL: opts.baseURL, adapter: opts.adapter });
  const bare = axios.create({ baseURL: opts.baseURL, adapter: opts.adapter });
  let inflight: Promise<string> | null = null;

  async function exchange(seen: StoredSession): Promise<string> {
    // Another tab (or an earlier call) may have refreshed already: use its tokens, never spend one twice.
    const now = store.get();
    if (!now) throw new Error('signed out');
    if (now.refresh !== seen.refresh) return now.access;
    try {
      const { data } = await bare.post<Session>('/api/auth/refresh', { refresh_token: now.refresh });
      store.set({ access: data.access_token, refresh: data.refresh_token, user: data.user });
      return data.access_token;
    } catch (err) {
      const status = (err as AxiosError).response?.status;
      if (status === 401 || status === 403) store.set(null);
      throw err;
    }
  }

  function refresh(): Promise<string> {
    if (inflight) return inflight;
    const seen = store.get();
    if (!seen) return Promise.reject(new Error('signed out'));
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const run: Promise<string> = locks
      ? (locks.request('oms-refresh', () => exchange(seen)) as unknown as Promise<string>)
      : exchange(seen);
    const shared = run.finally(() => {
      inflight = null;
    });
    inflight = shared;
    return shared;
  }

  async function signOut(session: StoredSession): Promise<void> {
    const logout = (access: string, refresh: string) =>
      bare.post('/api/auth/logout', { refresh_token: refresh }, { headers: { Authorization: `Bearer ${access}` } });
    try {
      await logout(session.access, session.refresh);
    } catch (err) {
      if ((err as AxiosError).response?.status !== 401) throw err;
      const { data } = await bare.post<Session>('/api/auth/refresh', { refresh_token: session.refresh });
      await logout(data.access_token, data.refresh_token);
    }
  }

  http.interceptors.request.use((config: RetriableConfig) => {
    const session = store.get();
    if (session && !config.headers.has('Authorization')) {
      config.headers.set('Authorization', `Bearer ${session.access}`);
      config._sentWith = session.access;
    }
    return config;
  });

  http.interceptors.response.use(undefined, async (error: AxiosError) => {
    const config = error.config as RetriableConfig | undefined;
    const isAuthCall = AUTH_PATHS.some((p) => config?.url?.startsWith(p));
    if (error.response?.status !== 401 || !config || config._retried || isAuthCall || !config._sentWith) {
      throw error;
    }
    const current = store.get();
    if (!current) throw error;
    // Sent with a token that has been replaced since: retry with the new one instead of refreshing again.
    const token = current.access !== config._sentWith ? current.access : await refresh();
    config._retried = true;
    config._sentWith = token;
    config.headers.set('Authorization', `Bearer ${token}`);
    return http.request(config);
  });

  return { http, refresh, signOut, store };
}
