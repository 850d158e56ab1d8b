// Per-page titles, and focus moved to the page's heading after a navigation, so that a screen reader says
// where the user arrived and the keyboard starts from the top of the new page.
import { useEffect, useRef, type ReactNode, type RefObject } from 'react';
import { useLocation } from 'react-router';

export function usePageTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · OMS` : 'OMS';
  }, [title]);
}

/** The page's `h1`, which sets the document title and takes focus after a navigation. */
export function PageHeading({ title, children, className = '' }: { title: string; children?: ReactNode; className?: string }) {
  usePageTitle(title);
  return (
    <h1 tabIndex={-1} data-page-heading className={`text-2xl font-semibold focus:outline-none ${className}`}>
      {children ?? title}
    </h1>
  );
}

/** Moves focus to the new page's heading when the path changes (not on the first load). */
export function useFocusOnNavigate() {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // The page may still be loading its data: wait for its heading a little. Never take the focus from
    // someone who has already gone into the page (a field they are typing in must keep it).
    let tries = 0;
    const timer = setInterval(() => {
      const h = document.querySelector<HTMLElement>('main [data-page-heading]');
      if (h || ++tries > 20) {
        clearInterval(timer);
        const inPage = document.activeElement?.closest('main') ?? null;
        if (!inPage) h?.focus({ preventScroll: false });
      }
    }, 50);
    return () => clearInterval(timer);
  }, [pathname]);
}

/** Focuses the first invalid field of a form after a refused submit (once the errors are on screen). */
export function focusFirstInvalid(form: HTMLElement | null) {
  setTimeout(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
}

/** Focuses the form's first invalid field whenever a new error arrives. */
export function useFocusFirstInvalid(form: RefObject<HTMLElement | null>, error: unknown) {
  useEffect(() => {
    if (error) form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [error, form]);
}
