import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { GroupFsync } from '../../src/db/group-fsync.js';
import type { PGliteDatabase } from '../../src/db/pglite-database.js';
import { createEngine, defineWorkflow, type Durability } from '../../src/index.js';

/**
 * The embedded backend's durability classes: PGlite never fsyncs by itself, so every class but 'off' makes
 * the worker fsync the WAL from the host after a commit that records completions, one flush serving every
 * commit that arrived meanwhile.
 */
describe('durability on the embedded backend', () => {
  const root = mkdtempSync(join(tmpdir(), 'aries-durability-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function flushesFor(durability: Durability): Promise<{ flushes: number; steps: number }> {
    const engine = await createEngine({ dataDir: join(root, durability), vacuumIntervalMs: 0 });
    try {
      const wf = defineWorkflow(`durable-${durability}`, { durability }, async (ctx, n: number) => {
        for (let i = 0; i < 3; i++) await ctx.step(`s${i}`, () => n + i);
        return ctx.transaction('tx', async (tx) => (await tx.query<{ v: number }>('SELECT 1 AS v'))[0]!.v);
      });
      const w = engine.worker({ workflows: [wf], concurrency: 8, pollIntervalMs: 20, schedulerIntervalMs: 0 });
      await w.start();
      const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.start(wf, i)));
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
      await w.stop();
      return { flushes: (engine.db as PGliteDatabase).fsync?.flushes ?? -1, steps: w.stats.stepsRun };
    } finally {
      await engine.close();
    }
  }

  test("'on' flushes the WAL to disk after durable commits, grouped; 'off' never does", async () => {
    const on = await flushesFor('on');
    const off = await flushesFor('off');
    expect(on.steps).toBe(32);
    expect(on.flushes).toBeGreaterThan(0);
    expect(on.flushes).toBeLessThanOrEqual(on.steps); // at most one per completion, fewer when grouped
    expect(off.flushes).toBe(0);
  }, 60_000);

  test('requests that arrive while a flush runs share the next one', async () => {
    const engine = await createEngine({ dataDir: join(root, 'group'), vacuumIntervalMs: 0 });
    try {
      const group = new GroupFsync(join(root, 'group'));
      await Promise.all(Array.from({ length: 20 }, () => group.request()));
      expect(group.flushes).toBeGreaterThanOrEqual(1);
      expect(group.flushes).toBeLessThanOrEqual(2); // the first, and one shared by all that came during it
    } finally {
      await engine.close();
    }
  });
});
