// Toasts for the result of an action, and a confirmation dialog before destructive ones.
import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';

type ToastKind = 'success' | 'error' | 'info';
interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}
interface Feedback {
  toast(text: string, kind?: ToastKind): void;
  /** Asks before something that cannot be undone; resolves true when confirmed. */
  confirm(options: ConfirmOptions): Promise<boolean>;
}
interface ConfirmOptions {
  title: string;
  body?: string;
  confirmLabel: string;
  cancelLabel?: string;
}

const FeedbackContext = createContext<Feedback>({ toast: () => undefined, confirm: async () => true });

const TOAST_MS = 6_000;

export function FeedbackProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [asking, setAsking] = useState<(ConfirmOptions & { resolve(ok: boolean): void }) | null>(null);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const toast = useCallback((text: string, kind: ToastKind = 'success') => {
    const id = next.current++;
    setToasts((ts) => [...ts.slice(-3), { id, kind, text }]);
    setTimeout(() => dismiss(id), TOAST_MS);
  }, [dismiss]);
  const confirm = useCallback(
    (options: ConfirmOptions) => new Promise<boolean>((resolve) => setAsking({ ...options, resolve })),
    [],
  );
  const value = useMemo(() => ({ toast, confirm }), [toast, confirm]);
  const styles: Record<ToastKind, string> = {
    success: 'border-green-300 bg-green-50 text-green-900',
    error: 'border-red-300 bg-red-50 text-red-900',
    info: 'border-slate-300 bg-white text-slate-900',
  };
  return (
    <FeedbackContext.Provider value={value}>
      {children}
      <section aria-label="Notifications" className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-center gap-2 p-4 sm:items-end">
        <div role="status" aria-live="polite" className="flex w-full max-w-sm flex-col gap-2">
          {toasts.map((t) => (
            <div key={t.id} data-testid="toast" className={`pointer-events-auto flex items-start gap-3 rounded-md border px-3 py-2 text-sm shadow ${styles[t.kind]}`}>
              <span className="flex-1">{t.text}</span>
              <button type="button" className="rounded px-1 font-semibold" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>×</button>
            </div>
          ))}
        </div>
      </section>
      {asking && (
        <ConfirmDialog
          {...asking}
          onClose={(ok) => {
            asking.resolve(ok);
            setAsking(null);
          }}
        />
      )}
    </FeedbackContext.Provider>
  );
}

function ConfirmDialog({ title, body, confirmLabel, cancelLabel = 'Keep it', onClose }: ConfirmOptions & { onClose(ok: boolean): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const dialog = ref.current;
    // The modal dialog keeps focus inside and Escape cancels; focus returns to the opener when it closes.
    const opener = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    return () => opener?.focus?.();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={body ? bodyId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        onClose(false);
      }}
      className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white p-5 text-slate-900 shadow-xl backdrop:bg-black/40"
    >
      <h2 id={titleId} className="text-lg font-semibold">{title}</h2>
      {body && <p id={bodyId} className="mt-2 text-sm text-slate-700">{body}</p>}
      <div className="mt-5 flex flex-wrap justify-end gap-2">
        <button type="button" autoFocus onClick={() => onClose(false)}
          className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100 focus-visible:ring-2 focus-visible:ring-indigo-500">
          {cancelLabel}
        </button>
        <button type="button" onClick={() => onClose(true)}
          className="rounded-md bg-red-700 px-3 py-2 text-sm font-medium text-white hover:bg-red-800 focus-visible:ring-2 focus-visible:ring-indigo-500">
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export const useFeedback = () => useContext(FeedbackContext);
