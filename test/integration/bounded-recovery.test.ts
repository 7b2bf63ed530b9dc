import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { defineWorkflow } from '../../src/index.js';
import { analyzeExecution, OUTCOME_PAGE } from '../../src/worker/run/replay-log.js';
import { describeBackends } from '../helpers/backends.js';
import { expireLease, sqlStartClaimed } from '../helpers/sql.js';

/**
 * Recovery is bounded by the last checkpoint: resuming an execution with 10,000 completed steps reads the
 * newest checkpoint and the journal after it, never the history before it. Rows are counted (not time):
 * every statement recovery sends goes through a counting wrapper that tallies the rows each SQL function
 * returned.
 */
function countingDb(db: Queryable) {
  const rows = new Map<string, number>();
  const calls = new Map<string, number>();
  const wrapped: Queryable = {
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const result = await db.query<Row>(sql, params);
      const fn = /aries\.(\w+)\(/.exec(sql)?.[1] ?? 'other';
      rows.set(fn, (rows.get(fn) ?? 0) + result.length);
      calls.set(fn, (calls.get(fn) ?? 0) + 1);
      return result;
    },
  };
  return { db: wrapped, rows, calls };
}

/** Records `n` completed steps (each with a checkpoint) for a claimed execution, 50 to a transaction (as a worker batches them). */
async function recordCompletedSteps(db: Queryable, id: string, token: number, n: number, from = 0): Promise<void> {
  for (let start = from; start < from + n; start += 50) {
    const items = Array.from({ length: Math.min(50, from + n - start) }, (_, i) => ({
      seq: start + i,
      key: `s${start + i}`,
      attempt: 1,
      output: start + i,
      checkpoint: true,
    }));
    await db.query('SELECT aries.record_steps($1, $2, $3::jsonb)', [id, token, JSON.stringify(items)]);
  }
}

describeBackends('recovery bounded by the last checkpoint', (b) => {
  test('analysis of an execution with 10,000 completed steps reads one checkpoint and the journal tail, not its history', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'bounded-a');
    await recordCompletedSteps(db, id, token, 10_000);
    // The step in flight when the worker "died": one record after the last checkpoint.
    await db.query(`SELECT aries.begin_step($1, $2, 10000, 's10000')`, [id, token]);
    const [history] = await db.query<{ n: string }>('SELECT count(*) AS n FROM aries.journal WHERE execution_id = $1', [id]);
    expect(Number(history!.n)).toBe(10_002);

    const counted = countingDb(db);
    const replay = await analyzeExecution(counted.db, id);
    expect(replay.stats).toEqual({ checkpointsRead: 1, journalRecordsRead: 1, stepOutcomesRead: 0 });
    expect(counted.rows.get('recovery_checkpoint')).toBe(1);
    expect(counted.rows.get('read_journal')).toBe(1);
    expect([...replay.inFlight]).toEqual(['s10000']);

    // Redo hands each recorded output to the workflow as it reaches it, a page of positions per read: the
    // materialized outputs (one row per completed step), never the intents, attempts or older records.
    for (let seq = 0; seq < 10_000; seq++) {
      const record = await replay.recordOf(`s${seq}`);
      if (record?.outcome?.kind !== 'completed' || record.outcome.output !== seq || record.seq !== seq) {
        throw new Error(`step s${seq}: ${JSON.stringify(record)}`);
      }
    }
    expect((await replay.recordOf('s10000'))?.status).toBe('RUNNING');
    expect(await replay.recordOf('s10001')).toBeUndefined();
    expect(replay.stats.stepOutcomesRead).toBe(10_000);
    expect(counted.calls.get('read_step_records')).toBe(Math.ceil(10_001 / OUTCOME_PAGE));
    expect(counted.calls.get('read_journal')).toBe(1); // the journal was read once: the tail
  });

  test('the rows analysis reads do not grow with history: 100 or 10,000 completed steps, the same', async () => {
    const db = b.engine.db;
    const analysisRows = async (workflow: string, steps: number) => {
      const { id, token } = await sqlStartClaimed(db, workflow);
      await recordCompletedSteps(db, id, token, steps);
      const counted = countingDb(db);
      await analyzeExecution(counted.db, id);
      return [...counted.rows.entries()].sort();
    };
    expect(await analysisRows('bounded-small', 100)).toEqual(await analysisRows('bounded-large', 10_000));
  });

  test('a worker resumes an execution with 10,000 completed steps: all replayed, none run again, the rest run', async () => {
    const db = b.engine.db;
    const ran: number[] = [];
    const wf = defineWorkflow('bounded-c', async (ctx) => {
      let sum = 0;
      for (let i = 0; i < 10_002; i++) sum += await ctx.step(`s${i}`, () => (ran.push(i), i));
      return sum;
    });
    const w0 = b.engine.worker({ workflows: [wf], pollIntervalMs: 20 }); // registers the workflow
    const { id, token } = await sqlStartClaimed(db, 'bounded-c');
    await recordCompletedSteps(db, id, token, 10_000);
    await expireLease(db, id);
    await w0.start();
    const total = await b.engine.handle<number>(id).result({ timeoutMs: 120_000 });
    await w0.stop();
    expect(total).toBe((10_001 * 10_002) / 2);
    expect(ran).toEqual([10_000, 10_001]);
    expect(w0.stats).toMatchObject({ stepsReplayed: 10_000, stepsRun: 2, completed: 1 });
  });
});
