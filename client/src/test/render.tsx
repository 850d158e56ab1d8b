import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { QueryClient } from '@tanstack/react-query';
import { Providers } from '../Providers';

export function renderAt(path: string, routes: Record<string, ReactElement>) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Providers client={client}>
        <Routes>
          {Object.entries(routes).map(([p, el]) => <Route key={p} path={p} element={el} />)}
        </Routes>
      </Providers>
    </MemoryRouter>,
  );
}
