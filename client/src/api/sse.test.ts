import { describe, expect, it } from 'vitest';
import { createSseParser, type SseMessage } from './sse';

describe('the event-stream parser', () => {
  it('reads events split anywhere across chunks, skipping comments', () => {
    const got: SseMessage[] = [];
    const feed = createSseParser((m) => got.push(m));
    feed(': keep-alive\n\nevent: status\nid: 3\ndata: {"a"');
    feed(':1}\n');
    feed('\r\nevent: resync\ndata: {}\n\ndata: line one\ndata: line two\n\n');
    expect(got).toEqual([
      { event: 'status', id: '3', data: '{"a":1}' },
      { event: 'resync', id: '3', data: '{}' },
      { event: 'message', id: '3', data: 'line one\nline two' },
    ]);
  });
});
