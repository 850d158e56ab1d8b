import { act, render, screen } from '@testing-library/react';
import { Link, MemoryRouter, Route, Routes } from 'react-router';
import { PageHeading, useFocusOnNavigate } from './page';

function Shell() {
  useFocusOnNavigate();
  return (
    <>
      <nav><Link to="/cart">Cart</Link></nav>
      <main>
        <Routes>
          <Route path="/" element={<PageHeading title="Catalog" />} />
          <Route path="/cart" element={<><PageHeading title="Cart" /><input aria-label="Quantity" /></>} />
        </Routes>
      </main>
    </>
  );
}

describe('focus after a navigation', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('moves to the new page heading', () => {
    render(<MemoryRouter initialEntries={['/']}><Shell /></MemoryRouter>);
    const link = screen.getByRole('link', { name: 'Cart' });
    link.focus();
    act(() => link.click());
    act(() => void vi.advanceTimersByTime(100));
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Cart' }));
  });

  it('never takes the focus from a field the user went into first', () => {
    render(<MemoryRouter initialEntries={['/']}><Shell /></MemoryRouter>);
    act(() => screen.getByRole('link', { name: 'Cart' }).click());
    // Before the fix the heading took the focus ~50 ms later, and what was typed next went nowhere.
    const field = screen.getByRole('textbox', { name: 'Quantity' });
    field.focus();
    act(() => void vi.advanceTimersByTime(1_000));
    expect(document.activeElement).toBe(field);
  });
});
