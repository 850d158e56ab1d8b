import { useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AuthProvider } from './auth/AuthContext';
import { CartProvider } from './cart/CartContext';
import { LiveEventsProvider } from './orders/LiveEvents';
import { toApiError } from './api/errors';
import { FeedbackProvider } from './components/feedback';

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Client mistakes (4xx) do not get better by asking again.
        retry: (n, err) => {
          const s = toApiError(err).status;
          return n < 2 && (s === undefined || s >= 500);
        },
      },
    },
  });
}

export function Providers({ children, client }: { children: ReactNode; client?: QueryClient }) {
  const [qc] = useState(() => client ?? makeQueryClient());
  return (
    <QueryClientProvider client={qc}>
      <AuthProvider>
        <LiveEventsProvider>
          <CartProvider>
            <FeedbackProvider>{children}</FeedbackProvider>
          </CartProvider>
        </LiveEventsProvider>
      </AuthProvider>
    </QueryClientProvider>
  );
}
