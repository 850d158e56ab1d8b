// Ids people seldom need (an order's id, a dead letter's message id) are never text on the page: a small
// "Copy reference" button puts one on the clipboard (for a support ticket, a log search), and its tooltip shows it.
import type { ReactNode } from 'react';
import { useFeedback } from './feedback';

/** A UUID, as the API writes ids: what no page shows as text. */
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * Puts `text` on the clipboard: the asynchronous clipboard where the page may use it, else (a page served over plain
 * http from another machine) a selected, unseen text area and the copy command. Whether it worked.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, no focus): the older way below may still work.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/**
 * "Copy reference": copies `value` and says so. The id is only in the tooltip (`title`) and in `data-reference`, never
 * in the page's text; `context` (hidden from the eye, read by screen readers) tells apart several on one page.
 */
export function CopyReference({ value, context, label = 'Copy reference', testId }: {
  value: string;
  context?: ReactNode;
  label?: string;
  testId?: string;
}) {
  const { toast } = useFeedback();
  return (
    <button type="button" title={`Reference ${value}`} data-reference={value} data-testid={testId}
      className="rounded text-xs text-slate-600 underline decoration-dotted underline-offset-2 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
      onClick={async () => {
        if (await copyText(value)) toast('Reference copied.');
        // The last resort: the reference in words, to copy by hand.
        else toast(`Could not copy. The reference is ${value}`, 'error');
      }}>
      {label}{context && <>{' '}<span className="sr-only">{context}</span></>}
    </button>
  );
}
