import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { fsyncWal } from '../../src/db/group-fsync.js';

/**
 * A checkpoint may remove or recycle a WAL segment between fsyncWal's listing of pg_wal and its flush of
 * that segment. Such a segment holds no commit the flush is for, so it is skipped; it must not fail the
 * flush, and with it the durable commit that asked for it (seen under load: ENOENT on a stat of a segment).
 * A listed name whose file is gone is made here by a dangling symbolic link: listed, but ENOENT on stat and open.
 */
const root = mkdtempSync(join(tmpdir(), 'aries-wal-fsync-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('a segment gone between the listing and its flush is skipped; the others are flushed', async () => {
  const walDir = join(root, 'data', 'pg_wal');
  mkdirSync(walDir, { recursive: true });
  writeFileSync(join(walDir, '000000010000000000000002'), 'current segment');
  symlinkSync(join(root, 'removed-by-a-checkpoint'), join(walDir, '000000010000000000000001'));
  await expect(fsyncWal(join(root, 'data'), 0)).resolves.toBeUndefined();
});

test('any other failure still fails the flush', async () => {
  await expect(fsyncWal(join(root, 'no-such-data-dir'), 0)).rejects.toMatchObject({ code: 'ENOENT' });
});
