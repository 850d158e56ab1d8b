import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ADMIN = { email: 'admin@oms.test', password: 'e2e-admin-password-1' };
export const STATE_FILE = path.join(CLIENT_DIR, 'test-results', 'e2e-state.json');
/** Where the oms under test keeps its images (the local image store). */
export const MEDIA_DIR = path.join(CLIENT_DIR, 'test-results', 'media');
/** OMS_STOCK_PARTITIONS of the oms under test. */
export const STOCK_PARTITIONS = 2;

export interface E2EState {
  pid: number;
  vhost: string;
  db: string;
  baseURL: string;
}

const MGMT = process.env.OMS_TEST_RABBIT_MGMT_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** RabbitMQ's management API (for a vhost of the run's own); its JSON answer, if any. */
export async function mgmt(method: string, p: string, body?: unknown): Promise<unknown> {
  const u = new URL(MGMT);
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  const r = await fetch(`${u.origin}${p}`, {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok && r.status !== 404) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text ? (JSON.parse(text) as unknown) : undefined;
}
