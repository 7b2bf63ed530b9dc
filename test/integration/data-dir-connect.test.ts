import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { DataDirLock } from '../../src/db/data-dir-lock.js';
import { startControlServer } from '../../src/db/embedded-control-server.js';
import { openDatabase } from '../../src/db/open-database.js';
import { PGliteDatabase } from '../../src/db/pglite-database.js';

/**
 * A command that connects to an embedded data dir while its holder is still opening it (the lock is
 * taken, the control server not yet published: a worker's first start runs initdb for seconds) waits
 * for the holder instead of failing with DATA_DIR_LOCKED.
 */
const root = mkdtempSync(join(tmpdir(), 'aries-connect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('connecting while the holder is still opening the data dir waits for its control server, then goes through it', async () => {
  const dir = join(root, 'data');
  const lock = DataDirLock.acquire(dir);
  let published = false;
  const connecting = openDatabase({ dataDir: dir, ifDataDirHeld: 'connect' }).then((opened) => ({ opened, published }));
  // The holder opens the data dir (here, after the client has already asked), then publishes its control server.
  const db = await PGliteDatabase.open(dir);
  await new Promise((r) => setTimeout(r, 300));
  const control = await startControlServer(db);
  published = true;
  lock.publishControl({ port: control.port, token: control.token });
  const { opened, published: whenOpened } = await connecting;
  try {
    expect(whenOpened).toBe(true);
    expect(opened.db.description).toContain(`via process ${process.pid}`);
    const [row] = await opened.db.query<{ n: number }>('SELECT 41 + 1 AS n');
    expect(row!.n).toBe(42);
  } finally {
    await opened.close();
    await control.close();
    await db.close();
    lock.release();
  }
});

test('with ifDataDirHeld error, a held data dir is refused at once, naming the holder', async () => {
  const dir = join(root, 'held');
  const lock = DataDirLock.acquire(dir);
  try {
    await expect(openDatabase({ dataDir: dir, ifDataDirHeld: 'error' })).rejects.toMatchObject({
      code: 'DATA_DIR_LOCKED',
      message: expect.stringContaining(`held by process ${process.pid}`),
    });
  } finally {
    lock.release();
  }
});
