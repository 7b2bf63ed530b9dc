/**
 * Runs one claimed execution to its next resting point: analysis of its journal, then the workflow
 * function with replay of recorded steps, then exactly one closing transition:
 *
 *   completed   the workflow returned: its last completions and its output, in one transaction
 *   failed      the workflow threw (or its output cannot be stored): the failure is recorded
 *   released    the worker is stopping: the execution is handed back between steps
 *   retry       a transient storage error: the execution is handed back to be resumed from its journal
 *   lease-lost  another worker took the execution over: nothing more is written (the token forbids it)
 *
 * Before any of these, steps still running (parallel steps) are waited for, and completions not yet
 * written are written: re-sending one is harmless (a repeat of the same attempt is skipped), losing one
 * would run a completed step again.
 */
import { encodeStored } from '../core/json-value.js';
import { toStoredError } from '../core/stored-error.js';
import { isTransientError } from '../core/transient-errors.js';
import type { Queryable } from '../db/database.js';
import { failExecution, readJournal, releaseExecution, type ClaimedExecution, type Lease } from '../db/sql-functions.js';
import { JournalCorruptError, LeaseLostError } from '../errors.js';
import type { Workflow } from '../sdk/define-workflow.js';
import { analyzeJournal } from './replay-log.js';
import type { StepWriter } from './step-write-batcher.js';
import { WorkflowContextImpl, YieldSignal } from './workflow-context.js';

export type RunOutcome = 'completed' | 'failed' | 'released' | 'retry' | 'lease-lost';

export interface RunDeps {
  db: Queryable;
  writer: StepWriter;
  maxPayloadBytes: number;
  shouldYield: () => boolean;
  signal: AbortSignal;
  /** How long the end of a run waits for parallel steps still running. */
  settleTimeoutMs: number;
  onStepsRun?: (run: number, replayed: number) => void;
  onStorageFault?: (err: unknown) => void;
}

const FLUSH_RETRY_DELAYS_MS = [100, 400, 1_600];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isLeaseLoss(err: unknown, deps: RunDeps): boolean {
  return err instanceof LeaseLostError || (deps.signal.aborted && err === deps.signal.reason);
}

export async function runExecution(deps: RunDeps, claimed: ClaimedExecution, workflow: Workflow): Promise<RunOutcome> {
  const lease: Lease = { executionId: claimed.executionId, token: claimed.token };
  let ctx: WorkflowContextImpl;
  try {
    // On an execution's first claim its journal holds only execution_started: nothing to replay, and one
    // round trip saved. Any later claim (a resumption, a hand-back) reads and verifies the journal.
    const firstRun = claimed.claimCount === 1 && !claimed.resumed;
    const replay = analyzeJournal(claimed.executionId, firstRun ? [] : await readJournal(deps.db, claimed.executionId));
    ctx = new WorkflowContextImpl(
      deps.db,
      lease,
      { workflow: workflow.name, version: workflow.version },
      replay,
      workflow.checkpoint,
      deps.signal,
      deps.shouldYield,
      deps.maxPayloadBytes,
      deps.writer,
    );
  } catch (err) {
    if (isTransientError(err)) return handBack(deps, lease, undefined, err);
    return fail(deps, lease, undefined, err);
  }

  let outcome: { ok: true; output: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, output: await workflow.fn(ctx, claimed.input) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  try {
    await ctx.settle(deps.settleTimeoutMs);
    const interrupt = ctx.interrupt;
    if (interrupt !== undefined) {
      if (isLeaseLoss(interrupt, deps)) return lost(ctx);
      if (interrupt instanceof YieldSignal) return await handBack(deps, lease, ctx, undefined);
      if (isTransientError(interrupt)) return await handBack(deps, lease, ctx, interrupt);
      return await fail(deps, lease, ctx, interrupt); // a NondeterminismError, even if the workflow caught it
    }
    if (!outcome.ok) return await fail(deps, lease, ctx, outcome.error);
    let outputJson: string | null;
    try {
      outputJson = encodeStored(outcome.output, `result of workflow "${workflow.name}"`, deps.maxPayloadBytes);
    } catch (err) {
      return await fail(deps, lease, ctx, err);
    }
    await ctx.finish(outputJson);
    return 'completed';
  } catch (err) {
    if (isLeaseLoss(err, deps)) return lost(ctx);
    if (isTransientError(err)) return handBack(deps, lease, ctx, err);
    throw err;
  } finally {
    deps.onStepsRun?.(ctx.stepsRun, ctx.stepsReplayed);
  }
}

function lost(ctx: WorkflowContextImpl): RunOutcome {
  ctx.abandon();
  return 'lease-lost';
}

/** Writes what is pending, retrying a transient failure a few times; true once nothing is pending. */
async function flushWithRetries(ctx: WorkflowContextImpl): Promise<boolean> {
  for (let i = 0; ; i++) {
    try {
      await ctx.flush();
      return true;
    } catch (err) {
      if (!isTransientError(err) || i >= FLUSH_RETRY_DELAYS_MS.length) return false;
      await sleep(FLUSH_RETRY_DELAYS_MS[i]!);
    }
  }
}

/**
 * Hands the execution back to the queue: on shutdown (fault undefined) or after a transient storage
 * error. Completions are written first; if the database stays unreachable, the lease simply expires and
 * a worker resumes the execution from what the journal holds.
 */
async function handBack(deps: RunDeps, lease: Lease, ctx: WorkflowContextImpl | undefined, fault: unknown): Promise<RunOutcome> {
  if (fault !== undefined) deps.onStorageFault?.(fault);
  if (ctx && !(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  try {
    await releaseExecution(deps.db, lease);
  } catch (err) {
    if (isLeaseLoss(err, deps)) return 'lease-lost';
    return 'retry';
  }
  return fault === undefined ? 'released' : 'retry';
}

/** Records the failure, after the completions of the steps that did complete. */
async function fail(deps: RunDeps, lease: Lease, ctx: WorkflowContextImpl | undefined, err: unknown): Promise<RunOutcome> {
  if (ctx && !(await flushWithRetries(ctx))) {
    ctx.abandon();
    return 'retry';
  }
  const lastFailure = ctx?.lastStepFailure;
  const failed = lastFailure?.error === err ? lastFailure : undefined;
  try {
    await failExecution(deps.db, lease, {
      errorJson: JSON.stringify(toStoredError(err)),
      failureType: 'PERMANENT',
      source: err instanceof JournalCorruptError ? 'data' : 'step',
      stepKey: failed?.stepKey,
      attempt: failed?.attempt,
    });
  } catch (writeErr) {
    if (isLeaseLoss(writeErr, deps)) return 'lease-lost';
    if (isTransientError(writeErr)) return handBack(deps, lease, undefined, writeErr);
    throw writeErr;
  }
  return 'failed';
}
