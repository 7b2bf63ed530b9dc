import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createEngine,
  DatabaseUnreachableError,
  DataDirLockedError,
  defineWorkflow,
  DuplicateStepKeyError,
  ExecutionFailedError,
  IdempotencyConflictError,
  InvalidDatabaseUrlError,
  InvalidDefinitionError,
  InvalidInputError,
  PermanentError,
  NotJsonSerializableError,
  PayloadTooLargeError,
  SchemaVersionError,
  UnknownWorkflowError,
} from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('bad input gets a clear error and loses nothing', (b) => {
  test('starting an unknown workflow by name names it', async () => {
    const err = await b.engine.start('no-such-workflow', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownWorkflowError);
    expect((err as Error).message).toContain('unknown workflow "no-such-workflow"');
  });

  test('input that is not JSON names the path, and nothing is stored', async () => {
    const wf = defineWorkflow('bad-input-a', async () => 1);
    const before = await b.engine.admin.listExecutions({ workflow: 'bad-input-a' });
    for (const [input, path] of [
      [{ when: new Date() }, 'input.when'],
      [{ n: 10n }, 'input.n'],
      [{ f: () => 1 }, 'input.f'],
      [{ list: [1, undefined] }, 'input.list[1]'],
      [{ x: NaN }, 'input.x'],
      [new Map(), 'input'],
    ] as const) {
      const err = await b.engine.start(wf, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotJsonSerializableError);
      expect((err as NotJsonSerializableError).path).toBe(path);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(b.engine.start(wf, cyclic)).rejects.toThrow(/input.self .*cycle/);
    expect(await b.engine.admin.listExecutions({ workflow: 'bad-input-a' })).toEqual(before);
  });

  test('input nested deeper than the limit is refused with its path; nothing is stored; 200 levels are fine', async () => {
    const wf = defineWorkflow('bad-input-deep', async () => 1);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5_000; i++) deep = [deep];
    const nested = await b.engine.start(wf, deep).catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(NotJsonSerializableError);
    expect((nested as Error).message).toMatch(/nested deeper than 256 levels/);
    expect((await b.engine.admin.listExecutions({ workflow: 'bad-input-deep' })).executions).toEqual([]);
    let ok: unknown = 'bottom';
    for (let i = 0; i < 200; i++) ok = { next: ok };
    const h = await b.engine.start(wf, { ok, n: Number.MAX_SAFE_INTEGER, f: 1.5e300 });
    expect(h.created).toBe(true);
  });

  test('a TypeError in a step is PERMANENT by default: one attempt, no retries', async () => {
    let attempts = 0;
    const wf = defineWorkflow('bad-input-typeerror', async (ctx) => {
      await ctx.step('call', () => {
        attempts++;
        const missing = undefined as unknown as { run(): number };
        return missing.run();
      }, { retry: { maxAttempts: 5, initialDelayMs: 1 } });
      return 'never';
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await expect(h.result({ timeoutMs: 20_000 })).rejects.toThrow(ExecutionFailedError);
    await w.stop();
    expect(attempts).toBe(1);
    const [failure] = (await b.engine.admin.listFailures({ executionId: h.id })).failures;
    expect(failure).toMatchObject({ type: 'PERMANENT', errorClass: 'TypeError' });
  });

  test('the same idempotency key with a different input is an IdempotencyConflictError naming both; an equal input returns the first', async () => {
    const wf = defineWorkflow('bad-input-idem', async () => 1);
    const first = await b.engine.start(wf, { order: 1, items: ['a'] }, { idempotencyKey: `idem-${b.name}` });
    const again = await b.engine.start(wf, { items: ['a'], order: 1 }, { idempotencyKey: `idem-${b.name}` });
    expect(again).toMatchObject({ id: first.id, created: false });
    const err = await b.engine.start(wf, { order: 2, items: ['a'] }, { idempotencyKey: `idem-${b.name}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyConflictError);
    expect((err as Error).message).toBe(`idempotency key "idem-${b.name}" already started execution ${first.id} with a different input`);
    expect((await b.engine.admin.listExecutions({ workflow: 'bad-input-idem' })).executions).toHaveLength(1);
  });

  test('stored errors are bounded: a 12 MiB error message is cut to 4096 characters saying so; a 12 MiB cancel reason is refused', async () => {
    const huge = 'password=hunter2 '.repeat(740_000); // ≈ 12 MiB
    const wf = defineWorkflow('bad-input-huge-error', async (ctx) => {
      await ctx.step('loud', () => {
        throw Object.assign(new PermanentError(huge), { details: { body: huge } });
      });
      return 'never';
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await expect(h.result({ timeoutMs: 30_000 })).rejects.toThrow(ExecutionFailedError);
    await w.stop();
    const [failure] = (await b.engine.admin.listFailures({ executionId: h.id })).failures;
    expect(failure!.message.length).toBeLessThan(4200);
    expect(failure!.message).toMatch(/… \[\d+ more characters cut\]$/);
    // no row anywhere holds the whole message: the largest stored error text stays small
    const [largest] = await b.engine.db.query<{ n: number }>(
      `SELECT max(octet_length(t::text))::int AS n FROM (
         SELECT error::text AS t FROM aries.executions WHERE id = $1
         UNION ALL SELECT error::text FROM aries.steps WHERE execution_id = $1
         UNION ALL SELECT failure_message FROM aries.failures WHERE execution_id = $1
         UNION ALL SELECT payload::text FROM aries.journal WHERE execution_id = $1) x`,
      [h.id],
    );
    expect(largest!.n).toBeLessThan(200_000);

    const pending = await b.engine.start(defineWorkflow('bad-input-cancel-reason', async () => 1), {});
    const refused = await b.engine.admin.cancel(pending.id, { reason: huge }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toMatch(/^the reason is \d+ characters; the limit is 4096$/);
    // SQL callers meet the same bound
    const sqlRefused = await b.engine.db
      .query('SELECT * FROM aries.cancel_execution(p_execution_id => $1, p_reason => $2)', [pending.id, 'x'.repeat(5000)])
      .catch((e: unknown) => e as { code?: string });
    expect((sqlRefused as { code?: string }).code).toBe('AR011');
    expect((await b.engine.admin.getExecution(pending.id))!.execution.status).toBe('PENDING');
  });

  test('an oversized input is refused with its size and the limit', async () => {
    const wf = defineWorkflow('bad-input-b', async () => 1);
    const big = 'x'.repeat(9 * 1024 * 1024);
    const err = await b.engine.start(wf, big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/input is \d+ bytes as JSON; the limit is 8388608 bytes/);
  });

  test('a step output that is not JSON fails the step with the path named; earlier steps stay recorded', async () => {
    const wf = defineWorkflow('bad-input-c', async (ctx) => {
      await ctx.step('fine', () => 1);
      await ctx.step('dated', () => ({ at: new Date() }));
      return 'never';
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 100 });
    await w.start();
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect((err as Error).message).toContain('output of step "dated".at is not JSON-serialisable: a Date is not a plain object');
    const detail = (await b.engine.admin.getExecution(h.id))!;
    expect(detail.steps.map((s) => [s.key, s.status, s.output])).toEqual([
      ['fine', 'COMPLETED', 1],
      ['dated', 'ROLLED_BACK', null], // PERMANENT: rolled back to the checkpoint after "fine"
    ]);
    await w.stop();
  });

  test('a duplicate step key in one execution fails it with a DuplicateStepKeyError naming the key', async () => {
    const wf = defineWorkflow('bad-input-d', async (ctx) => {
      await ctx.step('same', () => 1);
      await ctx.step('same', () => 2);
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 100 });
    await w.start();
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('DuplicateStepKeyError: step key "same" is used twice');
    const detail = (await b.engine.admin.getExecution(h.id))!;
    expect(detail.steps.map((s) => [s.key, s.status])).toEqual([['same', 'COMPLETED']]);
    await w.stop();
  });

  test('invalid definitions are refused when defined', () => {
    expect(() => defineWorkflow('', async () => 1)).toThrow(InvalidDefinitionError);
    expect(() => defineWorkflow('a@b', async () => 1)).toThrow(/invalid/);
    expect(() => defineWorkflow('ok', { version: '' }, async () => 1)).toThrow(/invalid version/);
    expect(() => defineWorkflow('ok', { checkpoint: { every: 0 } }, async () => 1)).toThrow(/checkpoint policy/);
    expect(() => defineWorkflow('ok', {} as never)).toThrow(/has no function/);
    expect(() => b.engine.worker({ workflows: [] })).toThrow(/at least one workflow/);
  });

  test('a schema newer than the code is refused at open, and the database is left as it was', async () => {
    if (b.name === 'pglite') return; // an in-memory PGlite cannot be reopened; the data-dir case is below
    await b.engine.db.query(`INSERT INTO aries.schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')`);
    try {
      const err = await createEngine({ ...b.connection, onError: () => {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaVersionError);
      expect((err as Error).message).toContain('schema is at version 999, newer than this code');
    } finally {
      await b.engine.db.query('DELETE FROM aries.schema_migrations WHERE version = 999');
    }
  });
});

describe('bad connection settings', () => {
  test('a malformed DATABASE_URL is named, without its password', async () => {
    const err = await createEngine({ databaseUrl: 'postgres//user:secret@host' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDatabaseUrlError);
    expect((err as Error).message).not.toContain('secret');
    await expect(createEngine({ databaseUrl: 'mysql://u@h/db' })).rejects.toThrow(/scheme "mysql"/);
  });

  test('an unreachable server is reported with its address', async () => {
    const err = await createEngine({ databaseUrl: 'postgres://postgres:pw@127.0.0.1:1/nothing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('pw@');
  });
});

describe('embedded data dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aries-datadir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a data dir held by another engine is refused with the holder named, and the holder keeps working', async () => {
    const dataDir = join(dir, 'held');
    const holder = await createEngine({ dataDir });
    try {
      const err = await createEngine({ dataDir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirLockedError);
      expect((err as Error).message).toContain(`held by process ${process.pid}`);
      const wf = defineWorkflow('held-a', async () => 'still fine');
      const w = holder.worker({ workflows: [wf], pollIntervalMs: 100 });
      await w.start();
      expect(await (await holder.start(wf, {})).result({ timeoutMs: 20_000 })).toBe('still fine');
      // A client that accepts going through the holder can use it.
      const client = await createEngine({ dataDir, ifDataDirHeld: 'connect' });
      expect(client.backend).toBe('remote');
      const viaHolder = await client.start('held-a', {});
      expect(await viaHolder.result({ timeoutMs: 20_000 })).toBe('still fine');
      expect(() => client.worker({ workflows: [wf] })).toThrow(/must run in the process that holds/);
      await client.close();
    } finally {
      await holder.close();
    }
    // Released on close: it opens again, with its data.
    const again = await createEngine({ dataDir });
    expect((await again.admin.listExecutions({ workflow: 'held-a' })).executions.length).toBe(2);
    await again.close();
  });

  test('a data dir migrated by newer code is refused', async () => {
    const dataDir = join(dir, 'newer');
    const e1 = await createEngine({ dataDir });
    await e1.db.query(`INSERT INTO aries.schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')`);
    await e1.close();
    await expect(createEngine({ dataDir })).rejects.toThrow(SchemaVersionError);
    // The refusal released the lock and left the data alone.
    const raw = await import('../../src/db/pglite-database.js').then((m) => m.PGliteDatabase.open(dataDir));
    const rows = await raw.query<{ v: number }>('SELECT max(version) AS v FROM aries.schema_migrations');
    expect(rows[0]!.v).toBe(999);
    await raw.close();
  });
});
