// What needs an operator's attention now, from the queue view and the last invariant check.
import type { QueueView, VerifyReport } from '../../api/types';

export interface Problem {
  key: string;
  severity: 'error' | 'warning';
  text: string;
  /** Where to look. */
  link?: string;
}

/** Samples of depth (ready + unacked) that grew every time over the last ones, and ended above a floor. */
export function growing(history: number[], samples = 5, floor = 10): boolean {
  const last = history.slice(-samples);
  if (last.length < samples) return false;
  return last.every((v, i) => i === 0 || v > last[i - 1]) && last[last.length - 1] >= floor;
}

export function problems(queues: QueueView[], history: Map<string, number[]>, verify?: VerifyReport | null): Problem[] {
  const out: Problem[] = [];
  const dead = queues.filter((q) => q.dead_letters > 0);
  const letters = dead.reduce((n, q) => n + q.dead_letters, 0);
  if (letters > 0) {
    out.push({
      key: 'dead', severity: 'error', link: '/ops/dead-letters',
      text: `${letters} dead letter${letters === 1 ? '' : 's'} in ${dead.map((q) => q.name).join(', ')}: messages that failed for good and wait for a replay.`,
    });
  }
  const idle = queues.filter((q) => q.consumers === 0);
  if (idle.length > 0) {
    out.push({
      key: 'consumers', severity: 'error',
      text: `No consumer on ${idle.map((q) => q.name).join(', ')}: nothing processes ${idle.length === 1 ? 'it' : 'them'}. Is a worker running?`,
    });
  }
  const rising = queues.filter((q) => growing(history.get(q.name) ?? []));
  if (rising.length > 0) {
    out.push({
      key: 'backlog', severity: 'warning',
      text: `Growing backlog on ${rising.map((q) => q.name).join(', ')}: messages arrive faster than they are handled.`,
    });
  }
  if (verify && !verify.ok) {
    out.push({
      key: 'verify', severity: 'error', link: '/ops/verify',
      text: `The last invariant check failed: ${verify.violations.length} violation${verify.violations.length === 1 ? '' : 's'}.`,
    });
  }
  return out;
}
