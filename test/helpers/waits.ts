/**
 * What the durable-wait suites (test/integration/waits-*.test.ts) share: a poller and a pause, the retry
 * policy and the transient error they use to make an execution replay, readers of execution and step rows
 * (and pollers on their status), and the starting of workers that are stopped after each test.
 */
import { afterEach } from 'vitest';
import type { Engine, Worker, WorkerOptions, Workflow } from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import type { TestBackend } from './backends.js';

/** A quick retry policy: three attempts, 10 ms apart, no jitter. */
export const FAST = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' } as const;

/** Resolves after `ms` milliseconds. */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A connection reset, which the engine classifies TRANSIENT: thrown by a step, it makes the execution replay. */
export const connectionReset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** Polls `probe` until it returns something; `what` (or what it returns, read at the end) says what was awaited. */
export async function waitFor<T>(what: string | (() => string), probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`gave up after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await pause(10);
  }
}

/** Readers of an execution's row as `columns` of aries.executions: `execRow` (throws if there is none) and `untilStatus` (polls it until its status is one of those given, and returns it). */
export function executionReaders<R extends { status: string }>(columns: string) {
  async function execRow(db: Queryable, id: string): Promise<R> {
    const [row] = await db.query<R>(`SELECT ${columns} FROM aries.executions WHERE id = $1`, [id]);
    if (!row) throw new Error(`no execution ${id}`);
    return row;
  }
  const untilStatus = (db: Queryable, id: string, statuses: readonly string[]) => {
    let last = '(not read)';
    return waitFor(
      () => `execution ${id} to be ${statuses.join(' or ')} (it is ${last})`,
      async () => {
        const row = await execRow(db, id);
        last = row.status;
        return statuses.includes(row.status) ? row : undefined;
      },
    );
  };
  return { execRow, untilStatus };
}

/** A reader of step `key` of an execution as `columns` of aries.steps (named `s`), undefined if there is no such step. */
export function stepReader<R>(columns: string) {
  return async (db: Queryable, id: string, key: string): Promise<R | undefined> => {
    const [row] = await db.query<R>(`SELECT ${columns} FROM aries.steps s WHERE s.execution_id = $1 AND s.step_key = $2`, [id, key]);
    return row;
  };
}

const statusOfStep = stepReader<{ status: string }>('status');

/** The status of step `key` of an execution, undefined if there is no such step. */
export async function stepStatus(db: Queryable, id: string, key: string): Promise<string | undefined> {
  return (await statusOfStep(db, id, key))?.status;
}

/** Polls until step `key` of an execution has `status`. */
export const untilStepStatus = (db: Queryable, id: string, key: string, status: string) =>
  waitFor(`step "${key}" of ${id} to be ${status}`, async () => ((await stepStatus(db, id, key)) === status ? true : undefined));

/** The settings of the suites' workers: four executions at once, polling every 20 ms, no recovery sweep. */
export const WORKER_SETTINGS = { concurrency: 4, pollIntervalMs: 20, schedulerIntervalMs: 0 } as const;

/** Called in a describe block: `worker(workflows, { concurrency?, engine? })` starts a worker with `settings` on `b.engine` (or `engine`), and each is stopped after its test. */
export function workerStarter(b: TestBackend, settings: Omit<WorkerOptions, 'workflows'> = WORKER_SETTINGS) {
  const started: Worker[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.stop()));
  });
  return async function worker(workflows: Workflow<any, any>[], options: { concurrency?: number; engine?: Engine } = {}): Promise<Worker> {
    const w = (options.engine ?? b.engine).worker({ ...settings, workflows, concurrency: options.concurrency ?? settings.concurrency });
    await w.start();
    started.push(w);
    return w;
  };
}
