/**
 * The `ctx` a workflow function receives. `ctx.step(key, fn)` is the unit of durability: on replay a
 * position whose outcome is recorded returns (or throws) that outcome without running `fn`; otherwise the
 * intent is journaled, `fn` runs, and its output is recorded under the lease's fencing token before the
 * workflow sees it. Steps are matched by position and key: a different key at a recorded position is a
 * NondeterminismError.
 *
 * A step's error is classified (failure-classification.ts). TRANSIENT with attempts left: the workflow is
 * unwound by a RetrySignal and the runner schedules the retry. Otherwise the failure is recorded and the
 * error thrown to the workflow, which may catch it; uncaught, the runner rolls back or compensates.
 */
import { classifyError, type ErrorClassifier, type FailureType, type FaultSource } from '../core/failure-classification.js';
import { encodeStored } from '../core/json-value.js';
import { hasAttemptsLeft, resolveRetryPolicy, retryDelayMs, type RetryOptions, type RetryPolicy } from '../core/retry-policy.js';
import { toStoredError, type StoredError } from '../core/stored-error.js';
import { isNetworkError, isTransientError } from '../core/transient-errors.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../core/durability.js';
import type { Span } from '@opentelemetry/api';
import type { WorkflowSeries } from '../core/aries-metrics.js';
import type { Database } from '../db/database.js';
import { stepAttemptsUsed, stepCrashStreak } from '../db/recovery-functions.js';
import type { CompensationStatus } from '../db/rows.js';
import { completeExecution, failStep, type Lease, type StepCompletion } from '../db/sql-functions.js';
import { translateDatabaseError } from '../db/sqlstate-errors.js';
import {
  DuplicateStepKeyError,
  InvalidDefinitionError,
  JournalCorruptError,
  LeaseLostError,
  NondeterminismError,
  StepAttemptsExhaustedError,
  StepFailedError,
} from '../errors.js';
import type { Workflow } from '../sdk/types/workflow.js';
import type {
  Compensation,
  StepContext,
  StepOptions,
  TransactionContext,
  TransactionOptions,
  WorkflowContext,
} from '../sdk/types/workflow-context.js';
import { crashPoint } from './crash-points.js';
import { endStepSpan, startStepSpan } from './tracing.js';
import { CompensationUnwind, RetrySignal, YieldSignal } from './engine-signals.js';
import type { RecordedOutcome, ReplayLog } from './replay-log.js';
import type { StepWriter } from './step-write-batcher.js';

export { YieldSignal } from './engine-signals.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** 40001 (serialization failure) and 40P01 (deadlock): the transaction lost a race and may simply run again. */
function isSerializationFailure(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '40001' || code === '40P01';
}

export interface StepFailure {
  stepKey: string;
  attempt: number;
  error: unknown;
  type: FailureType;
  source: FaultSource;
  retriesExhausted: boolean;
}

/** A completed step with a compensation, in the order steps completed. */
export interface CompensableStep {
  stepKey: string;
  seq: number;
  output: unknown;
  compensate: Compensation<unknown>;
  policy: RetryPolicy;
  classify: ErrorClassifier | undefined;
  status: CompensationStatus | null;
  /** The completion's LSN when it was replayed; undefined for steps completed by this run (they are newer). */
  lsn: number | undefined;
}

export interface ContextDeps {
  db: Database;
  lease: Lease;
  workflow: Workflow;
  replay: ReplayLog;
  /** 'compensating': replay only, to find compensations; unwind at the first step with no outcome. */
  mode: 'forward' | 'compensating';
  signal: AbortSignal;
  shouldYield: () => boolean;
  maxPayloadBytes: number;
  writer: StepWriter;
  /** A completion waits at most this long for the next transition before it is written on its own. */
  flushDelayMs?: number;
  /** The execution's span: each step run gets a child span. */
  span?: Span;
  /** The workflow's metric series: each attempt run here is counted and timed (replays are not). */
  metrics?: WorkflowSeries;
}

/** The error a failed step's record stores: the error itself and how it was classified. */
export function storedFailure(error: unknown, type: FailureType, source: FaultSource, retriesExhausted: boolean): StoredError {
  const stored: StoredError = { ...toStoredError(error), failureType: type, source };
  if (retriesExhausted) stored.retriesExhausted = true;
  return stored;
}

function isFailureType(v: unknown): v is FailureType {
  return v === 'TRANSIENT' || v === 'PERMANENT' || v === 'PARTIAL';
}

export class WorkflowContextImpl implements WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  /**
   * The first engine-level signal this run met: a transient storage error, a YieldSignal, a RetrySignal,
   * a NondeterminismError, corrupt data, a lost lease. Once set, every later ctx.step() throws it again, and
   * the runner acts on it even if the workflow caught it and returned, so a try/catch around a step can
   * never turn one into a COMPLETED execution.
   */
  interrupt: unknown;
  /** Steps whose function is running (the workflow may run steps in parallel with Promise.all). */
  private readonly running = new Set<Promise<unknown>>();
  /** The last step whose error the workflow was handed, to attribute an uncaught failure to it. */
  lastStepFailure: StepFailure | undefined;
  /** Steps actually run by this worker (not replayed), for tests and metrics. */
  stepsRun = 0;
  stepsReplayed = 0;

  private readonly deps: ContextDeps;
  private readonly compensable: CompensableStep[] = [];
  private seq = 0;
  private readonly keys = new Set<string>();
  /** Completions not yet written: they travel with the next step's intent, or the execution's end. */
  private pending: StepCompletion[] = [];
  /** Writes of one execution run one after another, in the order they were asked for. */
  private writes: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(deps: ContextDeps) {
    this.deps = deps;
    this.executionId = deps.lease.executionId;
    this.workflow = deps.workflow.name;
    this.version = deps.workflow.version;
  }

  async step<T>(key: string, fn: (step: StepContext) => T | Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    const entered = await this.enter(key, fn, options);
    if ('replayed' in entered) return entered.replayed as T;
    const { seq, policy } = entered;

    const attempt = (await this.write({ seq, stepKey: key }))!;
    const worn = await this.attemptsWornOut(key, attempt, policy);
    if (worn) return this.failed(key, seq, attempt, worn, options, policy);
    crashPoint('before-step', key);
    let output: T;
    let outputJson: string | null;
    const span = this.stepSpan(key, attempt, false);
    this.deps.metrics?.stepAttempts.inc();
    const started = performance.now();
    const running = Promise.resolve().then(() =>
      fn({ idempotencyKey: `${this.executionId}:${key}`, attempt, executionId: this.executionId, stepKey: key, signal: this.deps.signal }),
    );
    this.running.add(running);
    try {
      output = await running;
      outputJson = encodeStored(output, `output of step "${key}"`, this.deps.maxPayloadBytes);
    } catch (error) {
      this.attemptEnded(started);
      if (this.deps.signal.aborted) {
        span.end();
        throw this.interrupted(this.deps.signal.reason); // the lease is gone: record nothing
      }
      return this.failed(key, seq, attempt, error, options, policy, span);
    } finally {
      this.running.delete(running);
    }
    this.attemptEnded(started);
    endStepSpan(span);
    this.stepsRun++;
    crashPoint('after-step-effect', key);
    this.pending.push({ seq, stepKey: key, attempt, outputJson, checkpoint: this.takesCheckpoint(seq, options) });
    if (options.compensate) this.addCompensable(key, seq, output, options, policy, null, undefined);
    // Usually the next ctx.step() writes this completion within microseconds; if the workflow computes
    // for longer before it, the timer writes it alone so a crash meanwhile cannot re-run this step.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch(() => {}); // the same error reaches the next write, which reports it
    }, this.deps.flushDelayMs ?? 20);
    return output;
  }

  /**
   * What every step does first: checks its key, takes its position, and returns the outcome recorded there
   * (or throws it) when replaying; in compensating mode a position with no outcome unwinds the workflow.
   */
  private async enter(
    key: string,
    fn: unknown,
    options: StepOptions<never>,
  ): Promise<{ replayed: unknown } | { seq: number; policy: RetryPolicy }> {
    if (typeof key !== 'string' || key === '') throw new InvalidDefinitionError('ctx.step needs a non-empty string key');
    if (typeof fn !== 'function') throw new InvalidDefinitionError(`ctx.step("${key}") needs a function`);
    if (this.keys.has(key)) {
      throw new DuplicateStepKeyError(
        `step key "${key}" is used twice in execution ${this.executionId}; step keys must be unique within an execution (add an index for loops, e.g. "${key}-1")`,
      );
    }
    const policy = this.policyFor(key, options);
    if (this.interrupt !== undefined) throw this.interrupt;
    this.keys.add(key);
    const seq = this.seq++;

    let recorded: RecordedOutcome | undefined;
    if (this.deps.replay.hasHistory) {
      try {
        recorded = await this.deps.replay.outcomeAt(seq);
      } catch (err) {
        throw this.interrupted(err);
      }
    }
    if (recorded) return { replayed: this.replayed(key, seq, recorded, options, policy) };
    if (this.deps.mode === 'compensating') throw this.interrupted(new CompensationUnwind());
    if (this.deps.shouldYield()) throw this.interrupted(new YieldSignal());
    if (this.deps.signal.aborted) throw this.interrupted(this.deps.signal.reason);
    return { seq, policy };
  }

  async transaction<T>(key: string, fn: (tx: TransactionContext) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    const isolation = options.isolation ?? 'read committed';
    if (!ISOLATION_LEVELS.includes(isolation)) {
      throw new InvalidDefinitionError(`ctx.transaction("${key}"): isolation ${JSON.stringify(isolation)} is invalid: use ${ISOLATION_LEVELS.join(', ')}`);
    }
    const entered = await this.enter(key, fn, options);
    if ('replayed' in entered) return entered.replayed as T;
    const { seq, policy } = entered;
    for (;;) {
      // The intent (with any pending completions) first: it numbers the attempt and lets a failure be
      // recorded; the statements and the completion then commit together, or not at all.
      const attempt = (await this.write({ seq, stepKey: key }))!;
      const worn = await this.attemptsWornOut(key, attempt, policy);
      if (worn) return this.failed(key, seq, attempt, worn, options, policy);
      crashPoint('before-step', key);
      let output: T;
      const span = this.stepSpan(key, attempt, true);
      this.deps.metrics?.transactionAttempts.inc();
      const started = performance.now();
      try {
        output = await this.runTransaction(key, seq, attempt, fn, isolation, options);
      } catch (error) {
        this.attemptEnded(started);
        if (this.deps.signal.aborted || isNetworkError(error) || error instanceof LeaseLostError || isSerializationFailure(error)) {
          span.end();
        }
        if (this.deps.signal.aborted) throw this.interrupted(this.deps.signal.reason);
        // The connection failed: whether the COMMIT happened is unknown here. The journal knows: the
        // execution is handed back, and its resumption finds the step completed or runs it again.
        if (isNetworkError(error) || error instanceof LeaseLostError) throw this.interrupted(error);
        if (isSerializationFailure(error)) {
          const used = (await this.storage(() => stepAttemptsUsed(this.deps.db, this.executionId, key))).step;
          if (hasAttemptsLeft(policy, used)) {
            this.deps.metrics?.stepFailures.TRANSIENT.inc();
            await sleep(retryDelayMs(policy, used));
            continue; // the whole step again, as the next attempt
          }
        }
        return this.failed(key, seq, attempt, error, options, policy, isSerializationFailure(error) ? undefined : span);
      }
      this.attemptEnded(started);
      endStepSpan(span);
      this.stepsRun++;
      crashPoint('after-step-commit', key);
      if (options.compensate) this.addCompensable(key, seq, output, options, policy, null, undefined);
      return output;
    }
  }

  /** One attempt of a transactional step: fenced, at its isolation level and durability, committed with its completion. */
  private async runTransaction<T>(
    key: string,
    seq: number,
    attempt: number,
    fn: (tx: TransactionContext) => Promise<T>,
    isolation: IsolationLevel,
    options: TransactionOptions<T>,
  ): Promise<T> {
    const { db, lease, workflow } = this.deps;
    const output = await db.transaction(async (tx) => {
      const run = async <Row>(sql: string, params?: readonly unknown[]) => {
        try {
          return await tx.query<Row>(sql, params);
        } catch (err) {
          throw translateDatabaseError(err);
        }
      };
      await tx.exec(`SET TRANSACTION ISOLATION LEVEL ${isolation.toUpperCase()}`);
      // Fenced first (the first statement, so the snapshot and the row lock are taken together): a worker
      // whose lease was taken over never runs the statements.
      await run('SELECT 1 FROM aries.lock_owned_execution(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]);
      await run('SELECT aries.apply_durability(p_class => $1)', [workflow.durability]);
      const result = await fn({
        query: run,
        idempotencyKey: `${this.executionId}:${key}`,
        attempt,
        executionId: this.executionId,
        stepKey: key,
        signal: this.deps.signal,
      });
      crashPoint('after-step-effect', key); // the statements ran; nothing is committed
      const outputJson = encodeStored(result, `output of step "${key}"`, this.deps.maxPayloadBytes);
      const completed = `[{"seq":${seq},"key":${JSON.stringify(key)},"attempt":${attempt},"checkpoint":${this.takesCheckpoint(seq, options)}${
        outputJson === null ? '' : `,"output":${outputJson}`
      }}]`;
      await run('SELECT aries.record_steps(p_execution_id => $1, p_token => $2, p_completed => $3::jsonb)', [
        lease.executionId,
        lease.token,
        completed,
      ]);
      return result;
    });
    if (workflow.durability !== 'off') await db.flushToDisk?.();
    return output;
  }

  /** An attempt's function settled (or its transaction ended): its duration, in seconds. */
  private attemptEnded(started: number): void {
    this.deps.metrics?.stepDuration.observe((performance.now() - started) / 1000);
  }

  /**
   * A crash loop: the step's last maxAttempts attempts all started and none ended (no completion, no
   * recorded failure): its worker died during each (killed, out of memory). It is not started again: the
   * error goes through the failure path, PERMANENT with its retries exhausted. A single crash, even after
   * attempts that failed and were retried, is re-run as always (its effect may have happened: the re-run
   * with the same idempotency key is what records it).
   */
  private async attemptsWornOut(stepKey: string, attempt: number, policy: RetryPolicy): Promise<Error | undefined> {
    if (attempt <= policy.maxAttempts) return undefined; // the streak is at most the attempt number: nothing to read
    const streak = await this.storage(() => stepCrashStreak(this.deps.db, this.executionId, stepKey));
    if (streak <= policy.maxAttempts) return undefined;
    return new StepAttemptsExhaustedError(
      `step "${stepKey}" of execution ${this.executionId} was started ${streak - 1} times in a row (maxAttempts ${policy.maxAttempts}) ` +
        'and its worker stopped during every one of them (killed, out of memory?); it is not started again',
    );
  }

  private stepSpan(stepKey: string, attempt: number, transactional: boolean): Span {
    return startStepSpan(this.deps.span, { workflow: this.workflow, executionId: this.executionId, stepKey, attempt, transactional });
  }

  /** Completed steps with compensations, in completion order (replayed ones by LSN, then this run's). */
  compensations(): CompensableStep[] {
    const replayed = this.compensable.filter((c) => c.lsn !== undefined).sort((a, b) => a.lsn! - b.lsn!);
    return [...replayed, ...this.compensable.filter((c) => c.lsn === undefined)];
  }

  /** Whether a completed step has a compensation that has not run: a failure now is PARTIAL. */
  hasUncompensated(): boolean {
    return this.compensable.some((c) => c.status !== 'COMPLETED');
  }

  private policyFor(key: string, options: StepOptions<never>): RetryPolicy {
    if (options.compensate !== undefined && typeof options.compensate !== 'function') {
      throw new InvalidDefinitionError(`ctx.step("${key}"): compensate must be a function (output, ctx) => …`);
    }
    if (options.classify !== undefined && typeof options.classify !== 'function') {
      throw new InvalidDefinitionError(`ctx.step("${key}"): classify must be a function`);
    }
    return options.retry === undefined ? this.deps.workflow.retry : resolveRetryPolicy(this.deps.workflow.retry, options.retry, `step "${key}"`);
  }

  private replayed(key: string, seq: number, recorded: RecordedOutcome, options: StepOptions<never>, policy: RetryPolicy): unknown {
    if (recorded.stepKey !== key) {
      throw this.interrupted(new NondeterminismError(
        `execution ${this.executionId} recorded step "${recorded.stepKey}" at position ${seq}, but the workflow code now runs "${key}" there; ` +
          'the code changed under a running execution (deploy such changes as a new workflow version)',
      ));
    }
    this.stepsReplayed++;
    if (recorded.kind === 'failed') {
      const error = new StepFailedError(key, recorded.error);
      const type = isFailureType(recorded.error.failureType) ? recorded.error.failureType : 'PERMANENT';
      const source = (recorded.error.source as FaultSource | undefined) ?? 'step';
      this.lastStepFailure = { stepKey: key, attempt: recorded.attempt, error, type, source, retriesExhausted: recorded.error.retriesExhausted === true };
      throw error;
    }
    if (options.compensate) this.addCompensable(key, seq, recorded.output, options, policy, recorded.compensation, recorded.lsn);
    return recorded.output;
  }

  private addCompensable(
    stepKey: string,
    seq: number,
    output: unknown,
    options: StepOptions<never>,
    policy: RetryPolicy,
    status: CompensationStatus | null,
    lsn: number | undefined,
  ): void {
    this.compensable.push({ stepKey, seq, output, compensate: options.compensate as Compensation<unknown>, policy, classify: options.classify, status, lsn });
  }

  /** A step's function threw: schedule a retry, or record the failure and hand the error to the workflow. */
  private async failed(
    key: string,
    seq: number,
    attempt: number,
    error: unknown,
    options: StepOptions<never>,
    policy: RetryPolicy,
    span?: Span,
  ): Promise<never> {
    const { type, source } = classifyError(error, [options.classify, this.deps.workflow.classify], policy.nonRetryable);
    try {
      return await this.recordFailure(key, seq, attempt, error, type, source, policy);
    } catch (thrown) {
      const retrying = thrown instanceof RetrySignal;
      const recorded = this.lastStepFailure?.error === error ? this.lastStepFailure : undefined;
      if (span) endStepSpan(span, { error, type: retrying ? 'TRANSIENT' : (recorded?.type ?? type), retrying });
      // Counted once the failure is recorded (a retry scheduled, or the failure written), not when the
      // write itself failed: then the attempt's outcome is left to the resumed run.
      if (retrying) this.deps.metrics?.stepFailures.TRANSIENT.inc();
      else if (recorded) this.deps.metrics?.stepFailures[recorded.type].inc();
      throw thrown;
    }
  }

  private async recordFailure(
    key: string,
    seq: number,
    attempt: number,
    error: unknown,
    type: FailureType,
    source: FaultSource,
    policy: RetryPolicy,
  ): Promise<never> {
    let failureType = type;
    let exhausted = false;
    if (type === 'TRANSIENT') {
      const used = (await this.storage(() => stepAttemptsUsed(this.deps.db, this.executionId, key))).step;
      if (hasAttemptsLeft(policy, used)) {
        await this.flush();
        throw this.interrupted(new RetrySignal({ seq, stepKey: key, attempt, error, delayMs: retryDelayMs(policy, used), source }));
      }
      failureType = 'PERMANENT';
      exhausted = true;
    }
    await this.flush();
    const errorJson = JSON.stringify(storedFailure(error, failureType, source, exhausted));
    await this.storage(() => failStep(this.deps.db, this.deps.lease, { seq, stepKey: key, attempt, errorJson }));
    this.lastStepFailure = { stepKey: key, attempt, error, type: failureType, source, retriesExhausted: exhausted };
    throw error;
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
        const attempt = await this.storage(() =>
          this.deps.writer.write({ lease: this.deps.lease, durability: this.deps.workflow.durability, completions: batch, start }),
        );
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
      const { db, lease, workflow } = this.deps;
      await this.storage(() => completeExecution(db, lease, outputJson, batch, workflow.durability));
      if (workflow.durability !== 'off') await this.storage(async () => db.flushToDisk?.());
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

  /** Runs a write; a transient failure, a lost lease or corrupt data becomes this run's interrupt. */
  private async storage<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      // A refusal of the database's own checks is not the workflow's to catch either: a changed workflow
      // (NondeterminismError, DuplicateStepKeyError from the journal's positions) fails the execution.
      if (
        isTransientError(err) ||
        err instanceof LeaseLostError ||
        err instanceof JournalCorruptError ||
        err instanceof NondeterminismError ||
        err instanceof DuplicateStepKeyError
      ) {
        this.interrupted(err);
      }
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
  private takesCheckpoint(seq: number, options: StepOptions<never>): boolean {
    const policy = this.deps.workflow.checkpoint;
    if (policy === 'every-step' || options.checkpoint === true) return true;
    if (policy === 'marked') return false;
    return (seq + 1) % policy.every === 0;
  }
}
