/**
 * The public types of what a workflow function works with: its `ctx`, the context each step's function
 * gets, and the options of each primitive. Types only: the worker implements them (src/worker/context/),
 * and nothing here imports the implementation, so the SDK and the worker depend on these files alone.
 */
import type { ErrorClassifier } from '../../core/failure-classification.js';
import type { IsolationLevel } from '../../core/durability.js';
import type { RetryOptions } from '../../core/retry-policy.js';
import type { PGliteTransactionClient, TransactionClient } from './transaction-client.js';

export interface StepContext {
  /** Stable across attempts: `<execution id>:<step key>`. Pass it to the service the step calls. */
  idempotencyKey: string;
  /** 1 on the first run; higher when the step runs again (its worker died mid-step, or it is retried). */
  attempt: number;
  executionId: string;
  stepKey: string;
  /**
   * Aborted when this attempt should stop: its timeoutMs passed (reason: StepTimeoutError), the execution
   * was cancelled or its lease lost (another worker owns it now). Pass it to fetch and other calls that take
   * one; whatever the attempt does after it is aborted is not recorded.
   */
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
  /**
   * One attempt's deadline. Past it the attempt's `signal` aborts, the execution's fencing token moves on
   * (a late write of the attempt, such as a transaction's COMMIT, is refused by the database) and the
   * attempt fails TRANSIENTLY with StepTimeoutError (code STEP_TIMEOUT), retried under the retry policy.
   */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** Fails the wait with WaitTimeoutError (code WAIT_TIMEOUT) when nothing came by then (database clock). */
  timeoutMs?: number;
}

export interface SignalWaitOptions extends WaitOptions {
  /** The wait's key in the journal. Default: `signal:<name>:<n>` for the n-th wait for that name in the run. */
  key?: string;
}

/** What ctx.child needs of a workflow definition (any `defineWorkflow` result is one). */
export interface ChildWorkflow<I, O> {
  readonly name: string;
  readonly version: string;
  readonly kind: 'aries.workflow';
  /** The child's own deadline from its start (its workflow's timeoutMs). */
  readonly timeoutMs?: number | undefined;
  readonly fn: (ctx: WorkflowContext, input: I) => Promise<O>;
}

export interface ChildOptions extends WaitOptions {
  /** What cancelling the parent does to the child: 'cancel' it too (default) or 'abandon' it (it runs on). */
  parentClose?: 'cancel' | 'abandon';
}

/**
 * What a transactional step's function (or its compensateInTransaction) gets: statements in its own
 * transaction, and the step's context. BEGIN, COMMIT, ROLLBACK and the like are refused
 * (InvalidDefinitionError): the engine owns the transaction; return to commit, throw to roll back.
 */
export interface TransactionContext extends StepContext {
  /** Runs one statement with $1… parameters in the step's transaction and resolves to its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /**
   * The step's transaction as a node-postgres client (`{ rows, rowCount, command, fields }`, rowMode
   * 'array'), on both backends: `drizzle(tx.client)` (drizzle-orm/node-postgres) and
   * `new Kysely({ dialect: new PostgresDialect({ pool: tx.client }) })` run their statements in it.
   */
  client: TransactionClient;
  /**
   * On the embedded backend, the step's transaction as PGlite's transaction object, for
   * `drizzle(tx.pglite)` (drizzle-orm/pglite); undefined on a PostgreSQL server.
   */
  pglite: PGliteTransactionClient | undefined;
}

/** A compensation that runs in a transaction of its own; `tx.idempotencyKey` is `<execution>:<step>:compensation`. */
export type TransactionCompensation<T> = (output: T, tx: TransactionContext) => Promise<unknown>;

export interface TransactionOptions<T = unknown> extends StepOptions<T> {
  /** The transaction's isolation level (default 'read committed'); also its compensateInTransaction's. */
  isolation?: IsolationLevel;
  /**
   * Undoes the step's effect in a transaction of its own, the one that also records the compensation as
   * completed: its statements and that record commit together, or roll back together (a TRANSIENT error
   * is retried under the step's retry policy, as compensations are). Given instead of `compensate`.
   */
  compensateInTransaction?: TransactionCompensation<T>;
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
  /**
   * A durable sleep of `ms` from now on the database clock. The execution gives back its lease and its
   * worker slot (SLEEPING) and is claimed again when it is due; a replay after it does not sleep again.
   */
  sleep(key: string, ms: number): Promise<void>;
  /** A durable sleep until `at` (a Date), as sleep. */
  sleepUntil(key: string, at: Date): Promise<void>;
  /**
   * Waits (WAITING, holding nothing) for a signal named `name` sent to this execution (engine.signal,
   * aries.send_signal, the CLI or the API) and resolves to its payload. Signals are a durable mailbox:
   * one sent before the wait is kept; each is consumed by exactly one wait, oldest first per name.
   */
  waitForSignal<T = unknown>(name: string, options?: SignalWaitOptions): Promise<T>;
  /**
   * Starts `workflow` with `input` as a child execution (its id derived from this execution and `key`) and
   * waits for its result, holding nothing meanwhile. A child that ends without one fails this step with
   * ChildWorkflowFailedError (code CHILD_FAILED). A completed child is SUB_COMMITTED until this execution
   * completes, and is compensated if this execution is.
   */
  child<I, O>(key: string, workflow: ChildWorkflow<I, O>, input: I, options?: ChildOptions): Promise<O>;
}
