/**
 * Runs one claimed execution to its next resting point: analysis of its journal, then the workflow
 * function with replay of recorded steps, then exactly one closing transition — completed, failed, or
 * handed back (graceful shutdown). A lost lease ends the run silently: the new owner carries on and the
 * fencing token has already refused our writes.
 */
import { encodeStored } from '../core/json-value.js';
import { toStoredError } from '../core/stored-error.js';
import type { Queryable } from '../db/database.js';
import { failExecution, readJournal, releaseExecution, type ClaimedExecution } from '../db/sql-functions.js';
import { isTransientError } from '../core/transient-errors.js';
import { JournalCorruptError, LeaseLostError } from '../errors.js';
import type { Workflow } from '../sdk/define-workflow.js';
import { analyzeJournal } from './replay-log.js';
import type { StepWriter } from './step-write-batcher.js';
import { WorkflowContextImpl, YieldSignal } from './workflow-context.js';

/** released: handed back on shutdown; retry: handed back (or left to lease expiry) after a transient
 *  storage error, to be resumed from the journal. */
export type RunOutcome = 'completed' | 'failed' | 'released' | 'retry' | 'lease-lost';

export interface RunDeps {
  db: Queryable;
  writer: StepWriter;
  maxPayloadBytes: number;
  shouldYield: () => boolean;
  signal: AbortSignal;
  onStepsRun?: (run: number, replayed: number) => void;
  onStorageFault?: (err: unknown) => void;
}

export async function runExecution(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow): Promise<RunOutcome> {
  const lease = { executionId: claimed.executionId, token: claimed.token };
  const { db } = deps;
  let ctx: WorkflowContextImpl | undefined;
  try {
    // On an execution's first claim its journal holds only execution_started: nothing to replay, and one
    // round trip saved. Any later claim (a resumption, a hand-back) reads and verifies the journal.
    const firstRun = claimed.claimCount === 1 && !claimed.resumed;
    const replay = analyzeJournal(claimed.executionId, firstRun ? [] : await readJournal(db, claimed.executionId));
    ctx = new WorkflowContextImpl(
      db,
      lease,
      { workflow: workflow.name, version: workflow.version },
      replay,
      workflow.checkpoint,
      deps.signal,
      deps.shouldYield,
      deps.maxPayloadBytes,
      deps.writer,
    );
    const output = await workflow.fn(ctx, claimed.input);
    if (ctx.storageFault !== undefined) throw ctx.storageFault; // the workflow caught it; it still counts
    const outputJson = encodeStored(output, `result of workflow "${workflow.name}"`, deps.maxPayloadBytes);
    await ctx.finish(outputJson);
    return 'completed';
  } catch (err) {
    if (err instanceof LeaseLostError || (deps.signal.aborted && err === deps.signal.reason)) {
      ctx?.abandon();
      return 'lease-lost';
    }
    const fault = ctx?.storageFault ?? (ctx === undefined && isTransientError(err) ? err : undefined);
    if (fault !== undefined) {
      // Not the workflow's failure: the database could not be written. Hand the execution back so a
      // claim resumes it from what the journal holds; if even that fails, its lease will expire.
      ctx?.abandon();
      deps.onStorageFault?.(fault);
      await releaseExecution(db, lease).catch(() => {});
      return 'retry';
    }
    // Whatever ends the run, the steps that completed are recorded first.
    try {
      await ctx?.flush();
    } catch (flushErr) {
      if (flushErr instanceof LeaseLostError) {
        ctx?.abandon();
        return 'lease-lost';
      }
      throw flushErr;
    }
    if (err instanceof YieldSignal) {
      await releaseExecution(db, lease);
      return 'released';
    }
    const lastFailure = ctx?.lastStepFailure;
    const failed = lastFailure?.error === err ? lastFailure : undefined;
    try {
      await failExecution(db, lease, {
        errorJson: JSON.stringify(toStoredError(err)),
        failureType: 'PERMANENT',
        source: err instanceof JournalCorruptError ? 'data' : 'step',
        stepKey: failed?.stepKey,
        attempt: failed?.attempt,
      });
    } catch (writeErr) {
      if (writeErr instanceof LeaseLostError) return 'lease-lost';
      throw writeErr;
    }
    return 'failed';
  } finally {
    if (ctx) deps.onStepsRun?.(ctx.stepsRun, ctx.stepsReplayed);
  }
}
