import { expect, test } from 'vitest';
import { createEngine, defineWorkflow } from '../../src/index.js';
import { runEmbeddedMaintenance } from '../../src/worker/embedded-maintenance.js';

// PGlite has no autovacuum: the engine that holds an embedded instance vacuums its tables on a timer.
test('an embedded engine vacuums and analyzes its tables on a timer, between other work', async () => {
  const engine = await createEngine({ inMemory: true, vacuumIntervalMs: 100 });
  try {
    const wf = defineWorkflow('maintenance-a', async (ctx) => ctx.step('one', () => 1));
    const worker = engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await worker.start();
    const handles = await Promise.all(Array.from({ length: 20 }, () => engine.start(wf, {})));
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    const counts = async () =>
      Object.fromEntries(
        (
          await engine.db.query<{ relname: string; vacuum_count: number }>(
            `SELECT relname, vacuum_count::int AS vacuum_count FROM pg_stat_user_tables
              WHERE schemaname = 'aries' AND relname IN ('executions', 'steps', 'journal')`,
          )
        ).map((r) => [r.relname, r.vacuum_count]),
      );
    const deadline = Date.now() + 10_000;
    while (Object.values(await counts()).some((n) => n < 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Object.values(await counts()).every((n) => n >= 2)).toBe(true);
    await worker.stop();
  } finally {
    await engine.close();
  }
});

test('maintenance on an embedded instance leaves its data as it was', async () => {
  const engine = await createEngine({ inMemory: true, vacuumIntervalMs: 0 });
  try {
    const wf = defineWorkflow('maintenance-b', async (ctx) => ctx.step('one', () => 'kept'));
    const worker = engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await worker.start();
    const h = await engine.start(wf, {});
    await h.result({ timeoutMs: 20_000 });
    await runEmbeddedMaintenance(engine.db);
    expect((await engine.admin.getExecution(h.id))!.steps.map((s) => s.output)).toEqual(['kept']);
    expect((await engine.admin.readJournal(h.id)).records.every((r) => r.checksumOk)).toBe(true);
    await worker.stop();
  } finally {
    await engine.close();
  }
});
