import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createEngine, defineWorkflow } from '../../src/index.js';

/**
 * The embedded backend's data dir is opened by one process; another one (a script, a web server) reaches
 * the application's tables through it with `ifDataDirHeld: 'connect'`, one statement per call, and sees
 * what the holder's transactional steps committed.
 */
const root = mkdtempSync(join(tmpdir(), 'aries-own-tables-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a second engine on a held data dir reads and writes the application's tables through the holder, one statement per call", async () => {
  const dataDir = join(root, 'data');
  const holder = await createEngine({ dataDir, onError: () => {} });
  try {
    await holder.db.exec('CREATE TABLE app_notes (id int PRIMARY KEY, body text NOT NULL)');
    const wf = defineWorkflow('own-tables-note', async (ctx, id: number) =>
      ctx.transaction('write', async (tx) => (await tx.client.query('INSERT INTO app_notes VALUES ($1, $2)', [id, 'from a step'])).rowCount),
    );
    const w = holder.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    expect(await (await holder.start(wf, 1)).result({ timeoutMs: 20_000 })).toBe(1);
    await w.stop();

    const other = await createEngine({ dataDir, ifDataDirHeld: 'connect', onError: () => {} });
    try {
      expect(other.db.kind).toBe('remote');
      expect(await other.db.query('SELECT id, body FROM app_notes')).toEqual([{ id: 1, body: 'from a step' }]);
      await other.db.query('INSERT INTO app_notes VALUES ($1, $2)', [2, 'from the other process']);
      await expect(other.db.transaction(async () => {})).rejects.toThrow(/transactions cannot span calls/);
    } finally {
      await other.close();
    }
    expect(await holder.db.query('SELECT id FROM app_notes ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  } finally {
    await holder.close();
  }
}, 60_000);
