/**
 * The skeleton every wait primitive (sleep, signal wait, child workflow) runs through:
 *
 *   enter    check the call; a key used twice in one run is an error; look the key up in the journal:
 *            settled (COMPLETED / FAILED) → replayed, in the order the database settled the waits;
 *            cancelled (a race it lost) → it never settles; open (WAITING) → waited for again; never
 *            recorded → wait for the recorded keys, take the next position, begin it in the database
 *   wait     an open wait moves nothing: it is handed to the run's wait coordinator, which settles it
 *            when the database says its event came, or suspends the execution
 *   settle   resolve with its output (a signal's payload, a child's result), or reject with its error
 *            (WaitTimeoutError, ChildWorkflowFailedError), which the workflow may catch
 *
 * Unlike a step, a wait has one attempt and no retry policy: what it waits for is in the database.
 */
import type { StoredError } from '../../core/stored-error.js';
import type { CompensationStatus } from '../../db/rows.js';
import {
  ChildWorkflowFailedError,
  DuplicateStepKeyError,
  InvalidDefinitionError,
  InvalidInputError,
  NotJsonSerializableError,
  PayloadTooLargeError,
  StepFailedError,
  UnknownWorkflowError,
  WaitTimeoutError,
} from '../../errors.js';
import { crashPoint } from '../crash-points.js';
import { CompensationUnwind, YieldSignal } from '../engine-signals.js';
import type { StepRecord } from '../run/replay-log.js';
import type { WaitPrimitive } from './primitives/primitive.js';
import type { RunState } from './run-state.js';
import type { WaitOutcome } from './wait-coordinator.js';
import { WaitPromise } from './wait-promise.js';

/** The error a failed wait rejects with, rebuilt from what the database stored. */
export function waitError(key: string, stored: StoredError): Error {
  const details = (typeof stored.details === 'object' && stored.details !== null ? stored.details : {}) as Record<string, unknown>;
  const field = (name: string): unknown => stored[name] ?? details[name];
  const text = (name: string): string | undefined => {
    const v = field(name);
    return typeof v === 'string' ? v : undefined;
  };
  if (stored.code === 'WAIT_TIMEOUT') {
    return new WaitTimeoutError(stored.message, key, text('signal') ?? text('signalName'), text('childExecutionId'));
  }
  if (stored.code === 'CHILD_FAILED') {
    return new ChildWorkflowFailedError(
      stored.message,
      text('childExecutionId') ?? '',
      text('childStatus') ?? 'FAILED',
      text('failureType') ?? 'PERMANENT',
      field('childError') ?? null,
    );
  }
  return new StepFailedError(key, stored);
}

function isCallError(err: unknown): boolean {
  return (
    err instanceof UnknownWorkflowError ||
    err instanceof InvalidInputError ||
    err instanceof InvalidDefinitionError ||
    err instanceof NotJsonSerializableError ||
    err instanceof PayloadTooLargeError
  );
}

interface Settlers<T> {
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function runWait<Spec, T>(run: RunState, primitive: WaitPrimitive<Spec>, key: string, spec: Spec): Promise<T> {
  let settlers!: Settlers<T>;
  const promise = new WaitPromise<T>((resolve, reject) => (settlers = { resolve, reject }), run.races, [key]);
  enterWait(run, primitive, key, spec, settlers);
  return promise;
}

function enterWait<Spec, T>(run: RunState, primitive: WaitPrimitive<Spec>, key: string, spec: Spec, s: Settlers<T>): void {
  try {
    primitive.validate(key, spec);
    if (run.interrupt !== undefined) throw run.interrupt;
  } catch (err) {
    s.reject(err);
    return;
  }
  if (!run.journal.reach(key)) {
    s.reject(
      new DuplicateStepKeyError(
        `wait key "${key}" is used twice in execution ${run.executionId}; keys must be unique within an execution ` +
          `(give each wait its own key, e.g. "${key}-2")`,
      ),
    );
    return;
  }
  /** Settles the call: the journal counts it as done. */
  const finish = (outcome: WaitOutcome, seq: number, replayed?: { lsn: number; compensation: CompensationStatus | null }) => {
    run.journal.settled();
    if (outcome.kind === 'completed') {
      // A completed child is undone with this execution's saga, in its place in reverse order.
      if (primitive.kind === 'child') {
        run.addCompensable({
          stepKey: key,
          seq,
          output: outcome.output,
          compensate: () => undefined,
          policy: run.deps.workflow.retry,
          classify: undefined,
          status: replayed?.compensation ?? null,
          lsn: replayed?.lsn,
          child: true,
        });
      }
      s.resolve(outcome.output as T);
      return;
    }
    const error = waitError(key, outcome.error);
    run.lastStepFailure = { stepKey: key, attempt: 1, error, type: 'PERMANENT', source: 'step', retriesExhausted: false };
    s.reject(error);
  };
  void (async () => {
    let record: StepRecord | undefined;
    let seq: number;
    try {
      const lookup = run.journal.recordOf(key, primitive.kind);
      record = lookup && (await lookup);
      const outcome = record?.outcome;
      // Compensating: the replay only collects compensations, up to the first call with no outcome.
      if (run.deps.mode === 'compensating' && (!outcome || outcome.kind === 'cancelled')) throw new CompensationUnwind();
      if (outcome?.kind === 'cancelled') {
        run.journal.idle(); // it lost a race: it never settles, and holds nothing up
        return;
      }
      if (outcome) {
        const settled: WaitOutcome = outcome.kind === 'completed' ? { kind: 'completed', output: outcome.output } : { kind: 'failed', error: outcome.error };
        run.stepsReplayed++;
        const at = record!;
        const replayed = outcome.kind === 'completed' ? { lsn: outcome.lsn, compensation: outcome.compensation } : undefined;
        run.waits.replay(at.waitLsn ?? at.seq, () => finish(settled, at.seq, replayed));
        return;
      }
      if (run.expired) throw run.expired;
      if (record?.status === 'WAITING') {
        seq = record.seq; // begun by an earlier run, still open
      } else {
        // Never recorded, or voided by a rollback to a checkpoint (it begins again, as its next attempt).
        const placed = record && record.seq >= 0 ? record.seq : run.journal.placeNew(key);
        seq = typeof placed === 'number' ? placed : await placed;
        if (run.deps.shouldYield()) throw new YieldSignal();
        if (run.deps.signal.aborted) throw run.deps.signal.reason;
        // The completions of the steps before it are durable before the wait (a child, above all) begins.
        await run.storage(() => run.journal.flush());
        await run.storage(() => primitive.begin(run, key, seq, spec));
        crashPoint(primitive.kind === 'child' ? 'after-child-start' : 'after-wait-begin', key);
      }
    } catch (err) {
      run.journal.settled();
      // A call the database refused as wrong (an unknown child workflow, a bad argument) stored nothing:
      // the workflow gets the error. Anything else ends the run as an interrupt.
      s.reject(isCallError(err) ? err : run.interrupted(err));
      return;
    }
    run.journal.idle();
    run.waits.opened(key, primitive.kind, (outcome) => {
      run.journal.busy();
      finish(outcome, seq);
    });
  })();
}
