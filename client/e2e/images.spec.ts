import { existsSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { MEDIA_DIR } from './env';
import { test, expect, signInAdmin, shot, unique, PNG } from './fixtures';

// The local image store writes under OMS_MEDIA_DIR (workers/src/images/store.rs). With a plain file in its place
// every write fails; the image worker retries for its whole budget (OMS_IMAGE_RETRY_FOR, 5 s in global-setup.ts),
// then records `failed` for the admin and dead-letters the upload.
const ASIDE = `${MEDIA_DIR}.aside`;

function breakImageStore() {
  mkdirSync(MEDIA_DIR, { recursive: true });
  rmSync(ASIDE, { recursive: true, force: true });
  renameSync(MEDIA_DIR, ASIDE);
  writeFileSync(MEDIA_DIR, 'not a directory: the image store cannot write here\n');
}

function repairImageStore() {
  rmSync(MEDIA_DIR, { force: true });
  if (existsSync(ASIDE)) renameSync(ASIDE, MEDIA_DIR);
}

test('an image the store cannot take shows failed; after the store is back, retry makes it ready', async ({ page, allowConsoleErrors }) => {
  test.setTimeout(120_000);
  // While the media directory is broken, the images other tests stored there are not served either: the product
  // list's thumbnails of earlier products answer 404. Those, and only those, are expected here.
  allowConsoleErrors(/status of 404 \(Not Found\) \(at http:\/\/127\.0\.0\.1:\d+\/media\/[0-9a-f]+\.(png|jpe?g|webp)\)$/);
  await signInAdmin(page);
  await page.getByRole('link', { name: 'Products' }).click();
  breakImageStore();
  try {
    const name = unique('Clock');
    const form = page.getByRole('form', { name: 'New product' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('SKU').fill(unique('CLOCK'));
    await form.getByLabel('Price').fill('30');
    await form.getByLabel('Initial stock').fill('3');
    await form.getByLabel(/Image/).setInputFiles({ name: 'clock.png', mimeType: 'image/png', buffer: PNG });
    await form.getByRole('button', { name: 'Create product' }).click();
    await expect(page.getByRole('heading', { name })).toBeVisible();
    await expect(page.getByTestId('image-status')).toHaveText('Image: pending');
    await expect(page.getByTestId('image-status')).toHaveText(/^Image: failed — the image store did not answer/, { timeout: 60_000 });
    await expect(page.getByRole('img', { name })).toHaveCount(0);
    await shot(page, 'admin-image-failed');
  } finally {
    repairImageStore();
  }
  await page.getByRole('button', { name: 'Retry upload' }).click();
  await expect(page.getByTestId('image-status')).toHaveText('Image: ready');
  await expect(page.getByRole('img', { name: /Clock/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Retry upload' })).toHaveCount(0);
  await shot(page, 'admin-image-retried');
});
