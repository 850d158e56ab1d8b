// The signed-in session (tokens and user), kept in localStorage so a reload or a second tab stays signed in.
import type { User } from './types';

export interface StoredSession {
  access: string;
  refresh: string;
  user: User;
}

export interface SessionStore {
  get(): StoredSession | null;
  set(session: StoredSession | null): void;
  subscribe(listener: (session: StoredSession | null) => void): () => void;
}

const KEY = 'oms.session';

export function createSessionStore(storage: Storage = window.localStorage): SessionStore {
  const listeners = new Set<(s: StoredSession | null) => void>();
  const read = (): StoredSession | null => {
    try {
      const raw = storage.getItem(KEY);
      return raw ? (JSON.parse(raw) as StoredSession) : null;
    } catch {
      return null;
    }
  };
  const notify = (s: StoredSession | null) => listeners.forEach((l) => l(s));
  // Another tab signed in, refreshed or signed out.
  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (e) => {
      if (e.key === KEY) notify(read());
    });
  }
  return {
    get: read,
    set(session) {
      if (session) storage.setItem(KEY, JSON.stringify(session));
      else storage.removeItem(KEY);
      notify(session);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
