// Server-sent events over fetch, so that the stream authenticates with the Authorization header like every
// other request: EventSource cannot send headers, and a token in the URL ends up in logs and histories.

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Feeds text chunks in, calls `onMessage` for each complete event (text/event-stream framing). */
export function createSseParser(onMessage: (m: SseMessage) => void): (chunk: string) => void {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  const dispatch = () => {
    if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n'), id });
    event = '';
    data = [];
  };
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') dispatch();
      else if (line.startsWith(':')) continue;
      else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
    }
  };
}

export class StreamUnauthorized extends Error {}

/**
 * Opens `url` with `token` and feeds its events to `onMessage` until the server ends the stream (resolves)
 * or it fails (rejects; `StreamUnauthorized` for a 401). `signal` stops it.
 */
export async function streamEvents(
  url: string,
  { token, signal, onOpen, onMessage }: { token: string; signal: AbortSignal; onOpen(): void; onMessage(m: SseMessage): void },
): Promise<void> {
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    cache: 'no-store',
    signal,
  });
  if (response.status === 401) throw new StreamUnauthorized('the stream refused the access token');
  if (!response.ok || !response.body) throw new Error(`the event stream answered ${response.status}`);
  onOpen();
  const parse = createSseParser(onMessage);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parse(value);
  }
}
