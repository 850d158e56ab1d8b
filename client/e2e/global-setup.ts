// Starts `oms up` for the browser tests: a free port, a fresh database and RabbitMQ vhost, a known admin,
// and the built SPA (client/dist). What it starts is written to a state file that the teardown reads.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN, CLIENT_DIR, MEDIA_DIR, STATE_FILE, STOCK_PARTITIONS, mgmt, type E2EState } from './env';

const CLIENT = CLIENT_DIR;
const ROOT = path.resolve(CLIENT, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, ms: number, child: { exitCode: number | null }) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`oms exited with ${child.exitCode}; see test-results/oms.log`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`oms not ready at ${url} after ${ms} ms: ${last}`);
}

export default async function globalSetup() {
  const oms = process.env.OMS_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debug', 'oms');
  const chromium = process.env.OMS_E2E_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    // Debian's Chromium, never a browser download (the machine's network refuses those).
    const cmd = process.getuid?.() === 0 ? ['apt-get'] : ['sudo', 'apt-get'];
    execFileSync(cmd[0], [...cmd.slice(1), 'install', '-y', '-q', 'chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!existsSync(path.join(CLIENT, 'dist', 'index.html'))) {
    execFileSync('npm', ['run', 'build'], { cwd: CLIENT, stdio: 'inherit' });
  }
  // Always (incrementally) built, so that a stale binary is never what the browser tests drive.
  if (!process.env.OMS_BIN) execFileSync('cargo', ['build', '--bin', 'oms'], { cwd: ROOT, stdio: 'inherit' });
  // Idempotent: uses RabbitMQ and the MongoDB-compatible server when they already run.
  execFileSync('bash', ['scripts/services.sh', 'start'], { cwd: ROOT, stdio: 'inherit' });

  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const vhost = `oms-e2e-${id}`;
  await mgmt('PUT', `/api/vhosts/${vhost}`, {});
  await mgmt('PUT', `/api/permissions/${vhost}/guest`, { configure: '.*', write: '.*', read: '.*' });

  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const resultsDir = path.join(CLIENT, 'test-results');
  mkdirSync(resultsDir, { recursive: true });
  // A run stopped in the middle of the image-failure test may have left a plain file there.
  if (existsSync(MEDIA_DIR) && !statSync(MEDIA_DIR).isDirectory()) rmSync(MEDIA_DIR, { force: true });
  const log = openSync(path.join(resultsDir, 'oms.log'), 'w');
  const amqpBase = process.env.OMS_TEST_AMQP_URL?.replace(/\/[^/]*$/, '') ?? 'amqp://guest:guest@127.0.0.1:5672';
  const child = spawn(oms, ['up'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OMS_ENV: 'dev',
      OMS_HTTP_ADDR: `127.0.0.1:${port}`,
      OMS_MONGO_DB: `oms_e2e_${id}`,
      OMS_AMQP_URL: `${amqpBase}/${vhost}`,
      OMS_STOCK_PARTITIONS: String(STOCK_PARTITIONS),
      OMS_ADMIN_EMAIL: ADMIN.email,
      OMS_ADMIN_PASSWORD: ADMIN.password,
      OMS_CLIENT_DIR: path.join(CLIENT, 'dist'),
      OMS_MEDIA_DIR: MEDIA_DIR,
      // The image-failure test waits for the worker to give up: a short retry window keeps it quick.
      OMS_IMAGE_RETRY_FOR: '5s',
      // The webhook pages' test posts to this very server (loopback) and sees its retries quickly.
      OMS_WEBHOOKS_ALLOW_PRIVATE: 'true',
      OMS_WEBHOOK_RETRY_SCHEDULE: '1s,1s',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
    },
    stdio: ['ignore', log, log],
    detached: true,
  });
  const state: E2EState = { pid: child.pid!, vhost, db: `oms_e2e_${id}`, baseURL };
  writeFileSync(STATE_FILE, JSON.stringify(state));
  await waitReady(baseURL, 60_000, child);
  process.env.OMS_E2E_BASE_URL = baseURL;
}
