/**
 * The `ctx` a workflow function receives. `ctx.step(key, fn)` is the unit of durability: on replay a
 * position whose outcome is recorded returns (or throws) that outcome without running `fn`; otherwise the
 * intent is journaled, `fn` runs, and its output is recorded under the lease's fencing token before the
 * workflow sees it. Steps are matched by position and key: a different key at a recorded position is a
 * NondeterminismError.
 */
import { encodeStored } from '../core/json-value.js';
import { isTransientError } from '../core/transient-errors.js';
import { toStoredError } from '../core/stored-error.js';
import type { Queryable } from '../db/database.js';
import { completeExecution, failStep, type Lease, type StepCompletion } from '../db/sql-functions.js';
import { DuplicateStepKeyError, InvalidDefinitionError, LeaseLostError, NondeterminismError, StepFailedError } from '../errors.js';
import type { CheckpointPolicy } from '../sdk/define-workflow.js';
import { crashPoint } from './crash-points.js';
import type { ReplayLog } from './replay-log.js';
import type { StepWriter } from './step-write-batcher.js';

export interface StepContext {
  /** Stable across attempts: `<execution id>:<step key>`. Pass it to the service the step calls. */
  idempotencyKey: string;
  /** 1 on the first run; higher when the step runs again (its worker died mid-step, or it is retried). */
  attempt: number;
  executionId: string;
  stepKey: string;
  /** Aborted when this worker loses its lease on the execution: stop and let the new owner run the step. */
  signal: AbortSignal;
}

export interface StepOptions {
  /** With checkpoint policy 'marked', completing this step writes a checkpoint. */
  checkpoint?: boolean;
}

export interface WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  step<T>(key: string, fn: (step: StepContext) => T | Promise<T>, options?: StepOptions): Promise<T>;
}

/** Thrown inside a workflow to unwind it when its worker stops taking new steps (graceful shutdown). */
export class YieldSignal extends Error {
  constructor() {
    super('the worker is shutting down; the execution is handed back before its next step');
    this.name = 'YieldSignal';
  }
}

export interface StepFailure {
  stepKey: string;
  attempt: number;
  error: unknown;
}

export class WorkflowContextImpl implements WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  /**
   * The first engine-level signal this run met: a transient storage error, the worker's shutdown (a
   * YieldSignal), a NondeterminismError, a lost lease. These are not the workflow's to handle: once set,
   * every later ctx.step() throws it again, and the runner acts on it even if the workflow caught it and
   * returned, so a try/catch around a step can never turn one into a COMPLETED execution.
   */
  interrupt: unknown;
  /** Steps whose function is running (the workflow may run steps in parallel with Promise.all). */
  private readonly running = new Set<Promise<unknown>>();
  /** The last step whose error the workflow was handed, to attribute an uncaught failure to it. */
  lastStepFailure: StepFailure | undefined;
  /** Steps actually run by this worker (not replayed), for tests and metrics. */
  stepsRun = 0;
  stepsReplayed = 0;

  private seq = 0;
  private readonly keys = new Set<string>();
  /** Completions not yet written: they travel with the next step's intent, or the execution's end. */
  private pending: StepCompletion[] = [];
  /** Writes of one execution run one after another, in the order they were asked for. */
  private writes: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly lease: Lease,
    meta: { workflow: string; version: string },
    private readonly replay: ReplayLog,
    private readonly policy: CheckpointPolicy,
    private readonly signal: AbortSignal,
    private readonly shouldYield: () => boolean,
    private readonly maxPayloadBytes: number,
    private readonly writer: StepWriter,
    /** A completion waits at most this long for the next transition before it is written on its own. */
    private readonly flushDelayMs = 20,
  ) {
    this.executionId = lease.executionId;
    this.workflow = meta.workflow;
    this.version = meta.version;
  }

  async step<T>(key: string, fn: (step: StepContext) => T | Promise<T>, options: StepOptions = {}): Promise<T> {
    if (typeof key !== 'string' || key === '') throw new InvalidDefinitionError('ctx.step needs a non-empty string key');
    if (typeof fn !== 'function') throw new InvalidDefinitionError(`ctx.step("${key}") needs a function`);
    if (this.keys.has(key)) {
      throw new DuplicateStepKeyError(
        `step key "${key}" is used twice in execution ${this.executionId}; step keys must be unique within an execution (add an index for loops, e.g. "${key}-1")`,
      );
    }
    if (this.interrupt !== undefined) throw this.interrupt;
    this.keys.add(key);
    const seq = this.seq++;

    const recorded = this.replay.outcomes.get(seq);
    if (recorded) {
      if (recorded.stepKey !== key) {
        throw this.interrupted(new NondeterminismError(
          `execution ${this.executionId} recorded step "${recorded.stepKey}" at position ${seq}, but the workflow code now runs "${key}" there; ` +
            'the code changed under a running execution (deploy such changes as a new workflow version)',
        ));
      }
      this.stepsReplayed++;
      if (recorded.kind === 'failed') throw new StepFailedError(key, recorded.error);
      return recorded.output as T;
    }

    if (this.shouldYield()) throw this.interrupted(new YieldSignal());
    if (this.signal.aborted) throw this.interrupted(this.signal.reason);

    const attempt = (await this.write({ seq, stepKey: key }))!;
    crashPoint('before-step', key);
    let output: T;
    let outputJson: string | null;
    const running = Promise.resolve().then(() =>
      fn({ idempotencyKey: `${this.executionId}:${key}`, attempt, executionId: this.executionId, stepKey: key, signal: this.signal }),
    );
    this.running.add(running);
    try {
      output = await running;
      outputJson = encodeStored(output, `output of step "${key}"`, this.maxPayloadBytes);
    } catch (error) {
      if (this.signal.aborted) throw this.interrupted(this.signal.reason); // the lease is gone: record nothing
      await this.flush();
      await this.storage(() =>
        failStep(this.db, this.lease, { seq, stepKey: key, attempt, errorJson: JSON.stringify(toStoredError(error)) }),
      );
      this.lastStepFailure = { stepKey: key, attempt, error };
      throw error;
    } finally {
      this.running.delete(running);
    }
    this.stepsRun++;
    crashPoint('after-step-effect', key);
    this.pending.push({ seq, stepKey: key, attempt, outputJson, checkpoint: this.takesCheckpoint(seq, options) });
    // Usually the next ctx.step() writes this completion within microseconds; if the workflow computes
    // for longer before it, the timer writes it alone so a crash meanwhile cannot re-run this step.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch(() => {}); // the same error reaches the next write, which reports it
    }, this.flushDelayMs);
    return output;
  }

  /**
   * Writes the pending completions, and the intent to start `start` if given, in one transaction after
   * any write already under way. Returns the started step's attempt.
   */
  private write(start?: { seq: number; stepKey: string }): Promise<number | undefined> {
    const run = async () => {
      const batch = this.pending;
      if (batch.length === 0 && !start) return undefined;
      this.pending = [];
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      try {
        const attempt = await this.storage(() => this.writer.write({ lease: this.lease, completions: batch, start }));
        for (const c of batch) crashPoint('after-step-commit', c.stepKey);
        return attempt;
      } catch (err) {
        this.pending = batch.concat(this.pending); // not written: keep them for the next attempt
        throw err;
      }
    };
    const result = this.writes.then(run);
    this.writes = result.catch(() => {});
    return result;
  }

  /** Writes every pending completion (before a failure or a hand-back is recorded). */
  async flush(): Promise<void> {
    await this.write();
  }

  /** Ends the execution COMPLETED together with the completions of its last steps. */
  async finish(outputJson: string | null): Promise<void> {
    await this.writes;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.storage(() => completeExecution(this.db, this.lease, outputJson, batch));
    } catch (err) {
      this.pending = batch.concat(this.pending); // not written: keep them, a retried flush records them
      throw err;
    }
    for (const c of batch) crashPoint('after-step-commit', c.stepKey);
  }

  /** Waits (at most `ms`) for the steps still running, so none is left behind when the run ends. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Records an engine-level signal (the first one wins) and returns it, to be thrown. */
  private interrupted(signal: unknown): unknown {
    this.interrupt ??= signal;
    return signal;
  }

  /** Runs a write; a transient failure or a lost lease becomes this run's interrupt. */
  private async storage<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isTransientError(err) || err instanceof LeaseLostError) this.interrupted(err);
      throw err;
    }
  }

  /** Drops what is pending without writing it (the lease is lost: the database would refuse it). */
  abandon(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
  }

  /** By position, so the cadence is the same whether earlier steps ran here or were replayed. */
  private takesCheckpoint(seq: number, options: StepOptions): boolean {
    if (this.policy === 'every-step' || options.checkpoint === true) return true;
    if (this.policy === 'marked') return false;
    return (seq + 1) % this.policy.every === 0;
  }
}
