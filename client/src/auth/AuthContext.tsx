// Who is signed in: sign-in, sign-up and sign-out over the session store the API client refreshes.
import { createContext, useCallback, useContext, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { auth, sessionStore } from '../api';
import type { LoginIn, RegisterIn, Session, User } from '../api/types';
import type { SessionStore } from '../api/tokens';

interface AuthValue {
  user: User | null;
  isAdmin: boolean;
  login(body: LoginIn): Promise<User>;
  register(body: RegisterIn): Promise<User>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, store = sessionStore }: { children: ReactNode; store?: SessionStore }) {
  const queryClient = useQueryClient();
  // useSyncExternalStore needs a stable snapshot: compare by the serialized session.
  const raw = useSyncExternalStore(
    (cb) => store.subscribe(cb),
    () => JSON.stringify(store.get()),
  );
  const user = useMemo(() => (JSON.parse(raw) as { user: User } | null)?.user ?? null, [raw]);

  const start = useCallback(
    (s: Session) => {
      queryClient.clear();
      store.set({ access: s.access_token, refresh: s.refresh_token, user: s.user });
      return s.user;
    },
    [queryClient, store],
  );

  const value = useMemo<AuthValue>(
    () => ({
      user,
      isAdmin: user?.role === 'admin',
      login: async (body) => start(await auth.login(body)),
      register: async (body) => start(await auth.register(body)),
      logout: async () => {
        const s = store.get();
        store.set(null);
        queryClient.clear();
        // Best effort: the session ends here whatever the server answers (told with the session's own tokens).
        if (s) await auth.logout(s).catch(() => undefined);
      },
    }),
    [user, start, store, queryClient],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
