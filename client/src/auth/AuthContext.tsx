// Who is signed in: sign-in, sign-up and sign-out over the in-memory session the API client refreshes.
// After a reload the session is resumed from the refresh cookie (`resuming` until the answer is in).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, auth, sessionStore } from '../api';
import type { LoginIn, RegisterIn, Session, User } from '../api/types';
import type { SessionStore } from '../api/tokens';

interface AuthValue {
  user: User | null;
  isAdmin: boolean;
  /** True while a reloaded page asks whether its session still works. */
  resuming: boolean;
  login(body: LoginIn): Promise<User>;
  register(body: RegisterIn): Promise<User>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, store = sessionStore }: { children: ReactNode; store?: SessionStore }) {
  const queryClient = useQueryClient();
  const session = useSyncExternalStore((cb) => store.subscribe(cb), () => store.get());
  const user = session?.user ?? null;
  const [resuming, setResuming] = useState(() => !store.get() && store.hint() !== null);
  useEffect(() => {
    if (!resuming) return;
    let live = true;
    void api.resume().finally(() => live && setResuming(false));
    return () => {
      live = false;
    };
  }, [resuming]);

  const start = useCallback(
    (s: Session) => {
      queryClient.clear();
      store.set({ access: s.access_token, user: s.user });
      return s.user;
    },
    [queryClient, store],
  );

  const value = useMemo<AuthValue>(
    () => ({
      user,
      isAdmin: user?.role === 'admin',
      resuming,
      login: async (body) => start(await auth.login(body)),
      register: async (body) => start(await auth.register(body)),
      logout: async () => {
        const s = store.get();
        store.set(null);
        queryClient.clear();
        // Best effort: the session ends here whatever the server answers (told with the session's own token).
        if (s) await auth.logout(s).catch(() => undefined);
      },
    }),
    [user, resuming, start, store, queryClient],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
