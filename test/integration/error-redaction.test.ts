import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionFailedError, PermanentError, type StoredError, type Workflow } from '../../src/index.js';
import type { TestBackend } from '../helpers/backends.js';
import { describeBackends } from '../helpers/backends.js';
import { tablesContaining } from '../helpers/database-scan.js';

/**
 * What the engine stores of an error: redactError applied to every stored copy (failures, journal records,
 * executions.error, steps.error, compensation errors), no stack with storeStacks: false, and by default
 * stacks whose paths are relative to the working directory. Each is proved by scanning every aries table.
 */
const SECRET = 'hunter2-db-password';
const fast = { initialDelayMs: 10, maxDelayMs: 20, jitter: 'none' } as const;

function redact(stored: StoredError): StoredError {
  // the hook also tries to reclassify: the engine keeps its own classification
  return { ...(JSON.parse(JSON.stringify(stored).replaceAll(SECRET, '[redacted]')) as StoredError), failureType: 'TRANSIENT' };
}

async function run(b: TestBackend, wf: Workflow<any, unknown>): Promise<{ id: string; error: unknown }> {
  const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
  await w.start();
  try {
    const h = await b.engine.start(wf, {});
    const error = await h.result({ timeoutMs: 20_000 }).then(() => undefined, (err: unknown) => err);
    return { id: h.id, error };
  } finally {
    await w.stop();
  }
}

/** A step that fails TRANSIENT once, then PERMANENT, both errors quoting the password (message and details). */
const leaky = (name: string) =>
  defineWorkflow(name, { retry: { ...fast, maxAttempts: 3 } }, async (ctx) => {
    await ctx.step('connect', ({ attempt }) => {
      if (attempt === 1) throw Object.assign(new Error(`connect postgres://app:${SECRET}@db failed`), { code: 'ECONNRESET' });
      throw Object.assign(new PermanentError(`login refused for password=${SECRET}`), { details: { dsn: `postgres://app:${SECRET}@db` } });
    });
  });

/** A saga whose compensation fails PERMANENT quoting the password. */
const leakySaga = (name: string) =>
  defineWorkflow(name, { retry: fast }, async (ctx) => {
    await ctx.step('charge', () => 'c-1', {
      compensate: () => {
        throw new PermanentError(`refund refused: api key ${SECRET}`);
      },
    });
    await ctx.step('ship', () => {
      throw new PermanentError(`courier said no to ${SECRET}`);
    });
  });

describeBackends('error redaction: without a hook, the secret is stored (the scan finds it)', (b) => {
  test('every stored copy of a failed step error holds the password verbatim', async () => {
    const r = await run(b, leaky('redact-control'));
    expect(r.error).toBeInstanceOf(ExecutionFailedError);
    const hits = await tablesContaining(b.engine.db, SECRET);
    expect(Object.keys(hits).sort()).toEqual(['executions', 'failures', 'journal', 'steps']);
  });
});

describeBackends(
  'error redaction: redactError',
  (b) => {
    test('a failing step whose errors quote a password: redacted in failures, journal, executions.error and steps.error', async () => {
      const r = await run(b, leaky('redact-step'));
      expect(r.error).toBeInstanceOf(ExecutionFailedError);
      expect(await tablesContaining(b.engine.db, SECRET)).toEqual({});
      expect((await tablesContaining(b.engine.db, '[redacted]')).failures).toBe(2);

      const { execution, steps } = (await b.engine.admin.getExecution(r.id))!;
      expect(execution.error).toMatchObject({ message: 'login refused for password=[redacted]', failureType: 'PERMANENT', source: 'step' });
      expect(execution.error?.details).toEqual({ dsn: 'postgres://app:[redacted]@db' });
      expect(steps[0]!.error).toMatchObject({ message: 'login refused for password=[redacted]' });
      const failures = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
      expect(failures.map((f) => [f.type, f.message])).toEqual([
        ['PERMANENT', 'login refused for password=[redacted]'],
        ['TRANSIENT', 'connect postgres://app:[redacted]@db failed'],
      ]);
    });

    test('a compensation that fails quoting a password: redacted in its records too', async () => {
      const r = await run(b, leakySaga('redact-saga'));
      expect(r.error).toBeInstanceOf(ExecutionFailedError);
      expect(await tablesContaining(b.engine.db, SECRET)).toEqual({});
      const { execution } = (await b.engine.admin.getExecution(r.id))!;
      expect(execution.error).toMatchObject({ message: 'refund refused: api key [redacted]', failureType: 'PARTIAL' });
    });
  },
  { redactError: redact },
);

describeBackends(
  'error redaction: a hook that throws',
  (b) => {
    test('stores the error without its message rather than unredacted', async () => {
      const r = await run(b, leaky('redact-throws'));
      expect(r.error).toBeInstanceOf(ExecutionFailedError);
      expect(await tablesContaining(b.engine.db, SECRET)).toEqual({});
      const { execution } = (await b.engine.admin.getExecution(r.id))!;
      expect(execution.error).toMatchObject({ name: 'PermanentError', message: '[redactError failed: the message is not stored]', failureType: 'PERMANENT' });
    });
  },
  {
    redactError: () => {
      throw new Error('redactor bug');
    },
  },
);

describeBackends(
  'stored stacks',
  (b) => {
    test('by default a stored stack names files relative to the working directory, never the absolute path', async () => {
      const r = await run(b, leaky('stack-relative'));
      const [f] = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
      expect(f!.stack).toContain('test/integration/error-redaction.test.ts');
      expect(await tablesContaining(b.engine.db, process.cwd())).toEqual({});
    });
  },
);

describeBackends(
  'stored stacks: storeStacks false',
  (b) => {
    test('no stack anywhere: no frame of this file in any table, no stack in any stored error', async () => {
      const r = await run(b, leakySaga('stack-off'));
      expect(r.error).toBeInstanceOf(ExecutionFailedError);
      expect(await tablesContaining(b.engine.db, 'error-redaction.test.ts')).toEqual({});
      expect(await tablesContaining(b.engine.db, '"stack"')).toEqual({});
      const { execution, steps } = (await b.engine.admin.getExecution(r.id))!;
      expect(execution.error?.stack).toBeUndefined();
      expect(steps.every((s) => s.error?.stack === undefined)).toBe(true);
      const failures = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((f) => f.stack === null || f.stack === undefined)).toBe(true);
    });
  },
  { storeStacks: false },
);
