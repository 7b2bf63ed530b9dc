/**
 * One crash case, start to end, in a store of its own: a worker process that starts the execution and
 * kills itself at the crash point, then (if it did die there) a second worker process that recovers the
 * execution once the dead one's lease expires, then the judgement (judge-recovery.ts). The two processes
 * run one after the other: an embedded data dir admits one process at a time, and a killed holder's lock
 * is taken over by the next. A point this run did not reach is reported, not judged.
 */
import type { CrashPoint } from '../worker/crash-points.js';
import type { CrashCase } from './crash-cases.js';
import type { StoreFactory } from './isolated-stores.js';
import { judgeRecovery, type Reference } from './judge-recovery.js';
import { runWorker, stderrTail, type VerifySignal, type WorkerResult } from './worker-process.js';

export interface VerifyRow {
  point: CrashPoint;
  /** null for a point no step reached in the reference run. */
  step: string | null;
  reached: boolean;
  /** The execution's status after recovery (or at the end of the run when the point was not reached). */
  status: string | null;
  /** null when there was nothing to recover. */
  valid: boolean | null;
  reruns: string[];
  compensations: string[];
  /** Why the recovery is not valid. */
  problems: string[];
  note?: string;
}

export interface CaseContext {
  stores: StoreFactory;
  modulePath: string;
  workflow: string;
  input: unknown;
  signals: readonly VerifySignal[];
  timeoutMs: number;
  reference: Reference;
}

function failedProcess(what: string, r: WorkerResult): string {
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  return `the ${what} worker process ${how}${r.stderr.trim() ? `:\n${stderrTail(r.stderr)}` : ''}`;
}

export function unreachedRow(point: CrashPoint): VerifyRow {
  return { point, step: null, reached: false, status: null, valid: null, reruns: [], compensations: [], problems: [] };
}

export async function runCase(ctx: CaseContext, target: CrashCase): Promise<VerifyRow> {
  const row: VerifyRow = { ...unreachedRow(target.point), step: target.stepKey };
  const store = await ctx.stores.create();
  try {
    const common = { store, modulePath: ctx.modulePath, workflow: ctx.workflow, signals: ctx.signals, timeoutMs: ctx.timeoutMs };
    const crashAt = `${target.point}:${target.stepKey}`;
    const crashed = await runWorker({ ...common, start: { input: ctx.input }, crashAt });
    row.reached = crashed.signal === 'SIGKILL' && crashed.stderr.includes(`crash point ${crashAt} reached`);
    if (!row.reached) {
      if (crashed.code !== 0 || !crashed.report) return { ...row, valid: false, problems: [failedProcess('crashing', crashed)] };
      // The reference run passed this point and this run did not: the workflow took another path.
      return { ...row, status: crashed.report.status, note: 'the reference run reached this point; this run did not' };
    }
    if (crashed.executionId === undefined) return { ...row, valid: false, problems: ['the crashing worker died before it started the execution'] };

    const recovered = await runWorker({ ...common, executionId: crashed.executionId });
    if (recovered.code !== 0 || !recovered.report) return { ...row, valid: false, problems: [failedProcess('recovering', recovered)] };
    const judgement = judgeRecovery(ctx.reference, recovered.report, recovered.resumedFromLsn);
    if (!recovered.settled) judgement.problems.push(`the recovering worker gave up waiting after ${ctx.timeoutMs} ms (--timeout-ms)`);
    return {
      ...row,
      status: recovered.report.status,
      valid: judgement.problems.length === 0,
      reruns: judgement.reruns,
      compensations: judgement.compensations,
      problems: judgement.problems,
    };
  } finally {
    await ctx.stores.release(store);
  }
}
