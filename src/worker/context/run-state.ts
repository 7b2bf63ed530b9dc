/**
 * What one run of an execution's workflow function shares between its ctx calls and the runner that
 * ends it: the step journal, the first engine-level signal met (the interrupt), the completed steps with
 * compensations, the last step failure handed to the workflow, the functions still running, counters.
 */
import type { ErrorClassifier, FailureType, FaultSource } from '../../core/failure-classification.js';
import type { RetryPolicy } from '../../core/retry-policy.js';
import { isTransientError } from '../../core/transient-errors.js';
import type { CompensationStatus } from '../../db/rows.js';
import { DuplicateStepKeyError, JournalCorruptError, LeaseLostError, NondeterminismError } from '../../errors.js';
import type { IsolationLevel } from '../../core/durability.js';
import type { Compensation, TransactionCompensation } from '../../sdk/types/workflow-context.js';
import type { RunStateDeps } from './run-state-deps.js';
import { StepJournal } from './step-journal.js';
import { WaitCoordinator } from './wait-coordinator.js';
import { RaceTracker } from './wait-promise.js';

export interface StepFailure {
  stepKey: string;
  attempt: number;
  error: unknown;
  type: FailureType;
  source: FaultSource;
  retriesExhausted: boolean;
}

/** A completed step with a compensation. */
export interface CompensableStep {
  stepKey: string;
  seq: number;
  output: unknown;
  compensate: Compensation<unknown>;
  /** A transactional step's compensateInTransaction: run instead of `compensate`, in a transaction at `isolation`. */
  inTransaction?: { fn: TransactionCompensation<unknown>; isolation: IsolationLevel } | undefined;
  policy: RetryPolicy;
  classify: ErrorClassifier | undefined;
  status: CompensationStatus | null;
  /** The completion's LSN when it was replayed; undefined for steps completed by this run (they are newer). */
  lsn: number | undefined;
  /** A child workflow: undone by its own compensations, as a unit (compensate is not called). */
  child?: boolean;
}

export type { RunStateDeps } from './run-state-deps.js';

export class RunState {
  readonly deps: RunStateDeps;
  readonly executionId: string;
  readonly journal: StepJournal;
  /**
   * The first engine-level signal this run met: a transient storage error, a YieldSignal, a RetrySignal,
   * a NondeterminismError, corrupt data, a lost lease. Once set, every later ctx call throws it again, and
   * the runner acts on it even if the workflow caught it and returned, so a try/catch around a step can
   * never turn one into a COMPLETED execution.
   */
  interrupt: unknown;
  /** The last step whose error the workflow was handed, to attribute an uncaught failure to it. */
  lastStepFailure: StepFailure | undefined;
  /** Steps actually run by this worker (not replayed), for tests and metrics. */
  stepsRun = 0;
  stepsReplayed = 0;
  /** The run's open waits, and the one place they are settled. */
  readonly waits: WaitCoordinator;
  /** Which waits subscribed to which race: the losers are cancelled. */
  readonly races: RaceTracker;
  /**
   * Set once the execution's deadline has passed (ExecutionTimeoutError): recorded steps still replay (to
   * find their compensations), nothing new runs, and the run ends with the timeout.
   */
  expired: Error | undefined;
  /** What step attempts are told to stop by: the lease lost (the worker's signal), or the deadline passed. */
  readonly signal: AbortSignal;
  private readonly stopped = new AbortController();
  private readonly compensable: CompensableStep[] = [];
  /** Step functions running (the workflow may run steps in parallel). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(deps: RunStateDeps) {
    this.deps = deps;
    this.executionId = deps.lease.executionId;
    this.journal = new StepJournal(deps);
    this.waits = new WaitCoordinator(this);
    this.races = new RaceTracker((keys) => this.waits.lost(keys));
    this.signal = AbortSignal.any([deps.signal, this.stopped.signal]);
  }

  /**
   * The execution's deadline passed. Found at the claim: recorded steps still replay (so their
   * compensations are known) and the first new one ends the run. During the run: it ends now.
   */
  expire(error: Error, now: boolean): void {
    this.expired ??= error;
    if (now) {
      this.interrupted(error);
      this.stopped.abort(error);
    }
    this.journal.poke();
  }

  /** Records an engine-level signal (the first one wins) and returns it, to be thrown. */
  interrupted(signal: unknown): unknown {
    this.interrupt ??= signal;
    return signal;
  }

  /** Runs a database call; a transient failure, a lost lease or corrupt data becomes this run's interrupt. */
  async storage<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
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

  /** Runs one attempt of a primitive (never synchronously), tracked so the end of the run can wait for it. */
  track<A, T>(primitive: { run(a: A): Promise<T> }, a: A): Promise<T> {
    const running = Promise.resolve(a).then((x) => primitive.run(x));
    this.running.add(running);
    const untrack = () => this.running.delete(running);
    running.then(untrack, untrack);
    return running;
  }

  /** An attempt abandoned at its deadline: the end of the run does not wait for it. */
  forget(running: Promise<unknown>): void {
    this.running.delete(running);
  }

  /** Waits (at most `ms`) for the step functions still running, so none is left behind when the run ends. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  addCompensable(step: CompensableStep): void {
    this.compensable.push(step);
  }

  /** Completed steps with compensations, in completion order (replayed ones by LSN, then this run's). */
  compensations(): CompensableStep[] {
    const replayed = this.compensable.filter((c) => c.lsn !== undefined).sort((a, b) => a.lsn! - b.lsn!);
    return [...replayed, ...this.compensable.filter((c) => c.lsn === undefined)];
  }

  /**
   * Whether a completed step has a compensation that has not run: a failure now is PARTIAL. A completed
   * child does not make it so by itself (nothing says it has compensations), but it is undone with the
   * saga when there is one.
   */
  hasUncompensated(): boolean {
    return this.compensable.some((c) => !c.child && c.status !== 'COMPLETED');
  }
}
