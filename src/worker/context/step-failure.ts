/**
 * What happens when an attempt fails, for every primitive: its error is classified; TRANSIENT with
 * attempts left unwinds the workflow with a RetrySignal (the runner schedules the durable retry);
 * anything else is recorded as the step's failure and thrown to the workflow, which may catch it.
 * Also the crash-loop bound, checked before an attempt runs.
 */
import type { Span } from '@opentelemetry/api';
import { classifyError, type FailureType, type FaultSource } from '../../core/failure-classification.js';
import { hasAttemptsLeft, retryDelayMs, type RetryPolicy } from '../../core/retry-policy.js';
import { encodeStoredError, type PayloadCodec } from '../../core/payload-codec.js';
import { redactStoredError, toStoredError, type StoredError, type StoredErrorPolicy } from '../../core/stored-error.js';
import { stepAttemptsUsed, stepCrashStreak } from '../../db/steps.js';
import { failStep } from '../../db/steps.js';
import { StepAttemptsExhaustedError } from '../../errors.js';
import type { StepOptions } from '../../sdk/types/workflow-context.js';
import { RetrySignal } from '../engine-signals.js';
import { endStepSpan } from '../tracing.js';
import type { RunState } from './run-state.js';

/**
 * The error a failure's records store: the error itself (redacted by the policy's hook) and how it was
 * classified. The classification is the engine's, so the hook cannot change it.
 */
export function storedFailure(
  error: unknown,
  type: FailureType,
  source: FaultSource,
  retriesExhausted: boolean,
  policy: StoredErrorPolicy | undefined,
): StoredError {
  const stored: StoredError = redactStoredError({ ...toStoredError(error, policy), failureType: type, source }, policy ?? {});
  stored.failureType = type;
  stored.source = source;
  if (retriesExhausted) stored.retriesExhausted = true;
  else delete stored.retriesExhausted;
  return stored;
}

/** How a run stores its errors: the policy (stacks, redaction) and the codec, for one execution. */
export interface ErrorStorage {
  storedErrors?: StoredErrorPolicy | undefined;
  codec?: PayloadCodec | undefined;
}

/** storedFailure as the JSON text written: redacted first, then encoded by the codec, if there is one. */
export async function storedFailureJson(
  error: unknown,
  type: FailureType,
  source: FaultSource,
  retriesExhausted: boolean,
  storage: ErrorStorage,
  executionId: string,
): Promise<string> {
  const stored = storedFailure(error, type, source, retriesExhausted, storage.storedErrors);
  return JSON.stringify(await encodeStoredError(stored, storage.codec, { kind: 'error', executionId }));
}

export interface FailedAttempt {
  key: string;
  seq: number;
  attempt: number;
  options: StepOptions<never>;
  policy: RetryPolicy;
}

/**
 * A crash loop: the step's last maxAttempts attempts all started and none ended (no completion, no
 * recorded failure): its worker died during each (killed, out of memory). It is not started again: the
 * error goes through the failure path, PERMANENT with its retries exhausted. A single crash, even after
 * attempts that failed and were retried, is re-run as always (its effect may have happened: the re-run
 * with the same idempotency key is what records it). Asked only once `attempt` passes maxAttempts: the
 * streak is at most the attempt number, so before that there is nothing to read.
 */
export async function attemptsWornOut(run: RunState, stepKey: string, attempt: number, policy: RetryPolicy): Promise<Error | undefined> {
  const streak = await run.storage(() => stepCrashStreak(run.deps.db, run.executionId, stepKey));
  if (streak <= policy.maxAttempts) return undefined;
  return new StepAttemptsExhaustedError(
    `step "${stepKey}" of execution ${run.executionId} was started ${streak - 1} times in a row (maxAttempts ${policy.maxAttempts}) ` +
      'and its worker stopped during every one of them (killed, out of memory?); it is not started again',
  );
}

/** An attempt's function threw: schedule a retry, or record the failure and hand the error to the workflow. */
export async function attemptFailed(run: RunState, a: FailedAttempt, error: unknown, span?: Span): Promise<never> {
  const { type, source } = classifyError(error, [a.options.classify, run.deps.workflow.classify], a.policy.nonRetryable);
  try {
    return await recordFailure(run, a, error, type, source);
  } catch (thrown) {
    const retrying = thrown instanceof RetrySignal;
    const recorded = run.lastStepFailure?.error === error ? run.lastStepFailure : undefined;
    if (span) endStepSpan(span, { error, type: retrying ? 'TRANSIENT' : (recorded?.type ?? type), retrying });
    // Counted once the failure is recorded (a retry scheduled, or the failure written), not when the
    // write itself failed: then the attempt's outcome is left to the resumed run.
    if (retrying) run.deps.metrics?.stepFailures.TRANSIENT.inc();
    else if (recorded) run.deps.metrics?.stepFailures[recorded.type].inc();
    throw thrown;
  }
}

async function recordFailure(run: RunState, a: FailedAttempt, error: unknown, type: FailureType, source: FaultSource): Promise<never> {
  const { key, seq, attempt, policy } = a;
  let failureType = type;
  let exhausted = false;
  if (type === 'TRANSIENT') {
    const used = (await run.storage(() => stepAttemptsUsed(run.deps.db, run.executionId, key))).step;
    if (hasAttemptsLeft(policy, used)) {
      await run.storage(() => run.journal.flush());
      throw run.interrupted(new RetrySignal({ seq, stepKey: key, attempt, error, delayMs: retryDelayMs(policy, used), source }));
    }
    failureType = 'PERMANENT';
    exhausted = true;
  }
  await run.storage(() => run.journal.flush());
  const errorJson = await storedFailureJson(error, failureType, source, exhausted, run.deps, run.executionId);
  await run.storage(() => failStep(run.deps.db, run.deps.lease, { seq, stepKey: key, attempt, errorJson }));
  run.lastStepFailure = { stepKey: key, attempt, error, type: failureType, source, retriesExhausted: exhausted };
  throw error;
}
