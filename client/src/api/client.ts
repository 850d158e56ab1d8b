// The Axios instance: adds the access token, and on a 401 refreshes once and retries. The refresh token is an
// HttpOnly cookie the browser sends to /api/auth/refresh only; it rotates on every refresh and reusing a spent
// one revokes the session, so refreshing is single-flight: one at a time in this tab (a shared promise) and
// across tabs (a Web Lock), each request after the other sending the cookie the previous one set.
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { Session } from './types';
import type { SessionStore, StoredSession } from './tokens';

interface RetriableConfig extends InternalAxiosRequestConfig {
  _retried?: boolean;
  _sentWith?: string;
}

export interface Api {
  http: AxiosInstance;
  /** A fresh access token from the refresh cookie (at most one refresh at a time, however many ask). */
  refresh(): Promise<string>;
  /** After a reload: a token for the user this browser was signed in as, if its cookie still works. */
  resume(): Promise<void>;
  /**
   * Ends `session` on the server with its own access token (the store is cleared first, so the interceptor
   * has none to add); an expired one is first exchanged once through the refresh cookie.
   */
  signOut(session: StoredSession): Promise<void>;
  store: SessionStore;
}

const AUTH_PATHS = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh'];

/** Answers that mean the refresh cookie will never work again. */
const DEAD = [400, 401, 403];

export function createApi(store: SessionStore, opts: { adapter?: AxiosAdapter; baseURL?: string } = {}): Api {
  const http = axios.create({ baseURL: opts.baseURL, adapter: opts.adapter });
  const bare = axios.create({ baseURL: opts.baseURL, adapter: opts.adapter });
  let inflight: Promise<string> | null = null;

  async function exchange(): Promise<string> {
    try {
      const { data } = await bare.post<Session>('/api/auth/refresh', {});
      store.set({ access: data.access_token, user: data.user });
      return data.access_token;
    } catch (err) {
      const status = (err as AxiosError).response?.status;
      if (status !== undefined && DEAD.includes(status)) store.set(null);
      throw err;
    }
  }

  function refresh(): Promise<string> {
    if (inflight) return inflight;
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const run: Promise<string> = locks
      ? (locks.request('oms-refresh', () => exchange()) as unknown as Promise<string>)
      : exchange();
    const shared = run.finally(() => {
      inflight = null;
    });
    inflight = shared;
    return shared;
  }

  async function resume(): Promise<void> {
    if (store.get() || !store.hint()) return;
    await refresh().catch(() => undefined);
  }

  // Another tab signed in: this one gets a token of its own.
  store.onSignedInElsewhere(() => void resume());

  async function signOut(session: StoredSession): Promise<void> {
    const logout = (access: string) =>
      bare.post('/api/auth/logout', {}, { headers: { Authorization: `Bearer ${access}` } });
    try {
      await logout(session.access);
    } catch (err) {
      if ((err as AxiosError).response?.status !== 401) throw err;
      const { data } = await bare.post<Session>('/api/auth/refresh', {});
      await logout(data.access_token);
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

  return { http, refresh, resume, signOut, store };
}
