// Turns any failure into the API's error envelope, so every page shows the server's message by its field.
import axios from 'axios';
import type { ErrorDetail } from './types';

export interface ApiError extends ErrorDetail {
  status?: number;
}

export function toApiError(err: unknown): ApiError {
  if (axios.isAxiosError(err)) {
    const body = err.response?.data as { error?: ErrorDetail } | undefined;
    if (body?.error?.message) return { ...body.error, status: err.response?.status };
    if (err.response) {
      return { code: 'http_error', message: `The server answered ${err.response.status}.`, status: err.response.status };
    }
    return { code: 'network_error', message: 'Could not reach the server. Check your connection and try again.' };
  }
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) return err as ApiError;
  return { code: 'unknown', message: err instanceof Error ? err.message : 'Something went wrong.' };
}

/** The message for `field` when the error names it (`items[0].quantity` matches `items`), else undefined. */
export function fieldError(err: unknown, field: string): string | undefined {
  if (!err) return undefined;
  const e = toApiError(err);
  if (!e.field) return undefined;
  return e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`) ? e.message : undefined;
}

/** The message when the error names no field in `known` (shown once, above the form). */
export function formError(err: unknown, known: string[] = []): string | undefined {
  if (!err) return undefined;
  const e = toApiError(err);
  if (e.field && known.some((f) => fieldError(err, f))) return undefined;
  return e.message;
}
