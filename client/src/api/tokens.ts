// The signed-in session of this tab. The access token lives in memory only: no storage a script could read
// later holds it. The refresh token is an HttpOnly cookie (scoped to /api/auth/refresh) that page scripts
// cannot read at all. What localStorage keeps is only who signed in last (no secret), so that a reload or
// another tab knows to ask the refresh endpoint for a token of its own, and a sign-out reaches every tab.
import type { User } from './types';

export interface StoredSession {
  access: string;
  user: User;
}

export interface SessionStore {
  get(): StoredSession | null;
  set(session: StoredSession | null): void;
  subscribe(listener: (session: StoredSession | null) => void): () => void;
  /** The user this browser was last signed in as (no token), or null after a sign-out. */
  hint(): User | null;
  /** Called when another tab signs in while this one is signed out. */
  onSignedInElsewhere(listener: () => void): () => void;
}

export const HINT_KEY = 'oms.user';

export function createSessionStore(storage: Storage = window.localStorage): SessionStore {
  const listeners = new Set<(s: StoredSession | null) => void>();
  const elsewhere = new Set<() => void>();
  let current: StoredSession | null = null;
  const notify = () => listeners.forEach((l) => l(current));
  const hint = (): User | null => {
    try {
      const raw = storage.getItem(HINT_KEY);
      return raw ? (JSON.parse(raw) as User) : null;
    } catch {
      return null;
    }
  };
  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (e) => {
      if (e.key !== HINT_KEY && e.key !== null) return;
      if (!e.newValue) {
        // Signed out in another tab: this tab's token goes too.
        if (current) {
          current = null;
          notify();
        }
      } else if (!current) {
        elsewhere.forEach((l) => l());
      }
    });
  }
  return {
    get: () => current,
    set(session) {
      current = session;
      if (session) storage.setItem(HINT_KEY, JSON.stringify(session.user));
      else storage.removeItem(HINT_KEY);
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    hint,
    onSignedInElsewhere(listener) {
      elsewhere.add(listener);
      return () => elsewhere.delete(listener);
    },
  };
}
