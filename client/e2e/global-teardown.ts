// Stops the oms that global-setup started and removes its vhost.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { STATE_FILE, mgmt, type E2EState } from './env';

export default async function globalTeardown() {
  if (!existsSync(STATE_FILE)) return;
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2EState;
  try {
    process.kill(-state.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      process.kill(state.pid, 0);
      await new Promise((r) => setTimeout(r, 200));
    } catch {
      break;
    }
  }
  await mgmt('DELETE', `/api/vhosts/${state.vhost}`).catch(() => undefined);
  rmSync(STATE_FILE, { force: true });
}
