/**
 * The public types of what a workflow function works with: its `ctx`, the context each step's function
 * gets, and the options of each primitive. Types only: the worker implements them (src/worker/context/),
 * and nothing here imports the implementation, so the SDK and the worker depend on these files alone.
 */
import type { ErrorClassifier } from '../../core/failure-classification.js';
import type { IsolationLevel } from '../../core/durability.js';
import type { RetryOptions } from '../../core/retry-policy.js';

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

/** What a compensation receives beside the step's output; its idempotency key is `<execution>:<step>:compensation`. */
export type CompensationContext = StepContext;

export type Compensation<T> = (output: T, ctx: CompensationContext) => unknown;

export interface StepOptions<T = unknown> {
  /** Completing this step writes a checkpoint, whatever the workflow's policy (the way to mark steps under 'marked'). */
  checkpoint?: boolean;
  /** Overrides fields of the workflow's retry policy for this step (and its compensation). */
  retry?: RetryOptions;
  /** Classifies this step's errors before the workflow's classifier and the built-in rules. */
  classify?: ErrorClassifier;
  /** Undoes the step's effect if the execution fails PERMANENTLY after it completed; gets its output. */
  compensate?: Compensation<T>;
}

/** What a transactional step's function gets: statements in the step's own transaction, and the step's context. */
export interface TransactionContext extends StepContext {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface TransactionOptions<T = unknown> extends StepOptions<T> {
  /** The transaction's isolation level (default 'read committed'). */
  isolation?: IsolationLevel;
}

export interface WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  /**
   * A checkpointed step. Its outcome is recorded under `key` (unique within the execution) and, when the
   * execution is replayed, returned (or thrown) again without running `fn`. Steps may run in parallel
   * (`Promise.all`): replay finds each by its key, whatever order they completed in.
   */
  step<T>(key: string, fn: (step: StepContext) => T | Promise<T>, options?: StepOptions<T>): Promise<T>;
  /**
   * A transactional step: `fn`'s statements on the application's tables (in the same database) and the
   * step's completion commit in one transaction at the isolation level asked for, so its effect happens
   * exactly once. Serialization failures and deadlocks retry the whole step (with backoff, under its
   * retry policy); any error rolls its statements back.
   */
  transaction<T>(key: string, fn: (tx: TransactionContext) => Promise<T>, options?: TransactionOptions<T>): Promise<T>;
}
