/**
 * The one skeleton every ctx primitive runs through:
 *
 *   enter   check the call (key, function, options; a key used twice in one run is an error), then look
 *           the key up in the journal: recorded with an outcome → replay it (return the output or throw the
 *           failure) without running anything; recorded without one (in flight, waiting for a retry, rolled
 *           back) → run it again at its position; never recorded → wait for the recorded keys and take the
 *           next position. A recorded key called as another kind of primitive is a NondeterminismError.
 *   run     journal the intent (numbering the attempt), refuse a crash loop, make sure the lease is still
 *           held (a stale confirmation is renewed first: lease-confirmation.ts), run the primitive's
 *           attempt under a span and the attempt metrics
 *   record  hand the completion to the primitive (queued with the next write, or already committed), note
 *           a compensation; or route the error: the common failure path, another attempt, or an interrupt
 *
 * A call counts as in progress from entry until it settles; the step journal uses that to tell a parallel
 * branch still replaying from a journal the code no longer matches.
 */
import type { Span } from '@opentelemetry/api';
import { resolveRetryPolicy, type RetryPolicy } from '../../core/retry-policy.js';
import { timeOutStep } from '../../db/waits.js';
import { DuplicateStepKeyError, InvalidDefinitionError, NondeterminismError, StepFailedError, StepTimeoutError } from '../../errors.js';
import type { Compensation, StepOptions, TransactionCompensation, TransactionOptions } from '../../sdk/types/workflow-context.js';
import { crashPoint } from '../crash-points.js';
import { CompensationUnwind, YieldSignal } from '../engine-signals.js';
import type { StepRecord } from '../run/replay-log.js';
import { endStepSpan, startStepSpan } from '../tracing.js';
import type { Attempt, Primitive } from './primitives/primitive.js';
import type { CompensableStep, RunState } from './run-state.js';
import { attemptFailed, attemptsWornOut } from './step-failure.js';
import type { FailureType, FaultSource } from '../../core/failure-classification.js';

function isFailureType(v: unknown): v is FailureType {
  return v === 'TRANSIENT' || v === 'PERMANENT' || v === 'PARTIAL';
}

export async function runPrimitive<Fn, Options extends StepOptions<never>, T>(
  run: RunState,
  primitive: Primitive<Fn, Options, T>,
  key: string,
  fn: Fn,
  options: Options,
): Promise<T> {
  if (typeof key !== 'string' || key === '') throw new InvalidDefinitionError(`${primitive.call} needs a non-empty string key`);
  if (typeof fn !== 'function') throw new InvalidDefinitionError(`${primitive.call}("${key}") needs a function`);
  const policy = policyFor(run, primitive, key, options);
  if (run.interrupt !== undefined) throw run.interrupt;
  if (!run.journal.reach(key)) {
    throw new DuplicateStepKeyError(
      `step key "${key}" is used twice in execution ${run.executionId}; step keys must be unique within an execution (add an index for loops, e.g. "${key}-1")`,
    );
  }
  try {
    const seq = await enter(run, primitive, key, options, policy);
    if (typeof seq !== 'number') return seq.replayed as T;
    return await attempts(run, primitive, { key, seq, fn, options, policy });
  } finally {
    run.journal.settled();
  }
}

function policyFor(run: RunState, primitive: Primitive<never, never, unknown>, key: string, options: StepOptions<never>): RetryPolicy {
  if (options === null || typeof options !== 'object') throw new InvalidDefinitionError(`${primitive.call}("${key}"): options must be an object`);
  if (options.compensate !== undefined && typeof options.compensate !== 'function') {
    throw new InvalidDefinitionError(`${primitive.call}("${key}"): compensate must be a function (output, ctx) => …`);
  }
  const inTransaction = (options as TransactionOptions<never>).compensateInTransaction;
  if (inTransaction !== undefined) {
    if (primitive.kind !== 'transaction') {
      throw new InvalidDefinitionError(`${primitive.call}("${key}"): compensateInTransaction is an option of ctx.transaction; use compensate`);
    }
    if (typeof inTransaction !== 'function') {
      throw new InvalidDefinitionError(`${primitive.call}("${key}"): compensateInTransaction must be a function (output, tx) => …`);
    }
    if (options.compensate !== undefined) {
      throw new InvalidDefinitionError(`${primitive.call}("${key}"): give compensate or compensateInTransaction, not both`);
    }
  }
  if (options.classify !== undefined && typeof options.classify !== 'function') {
    throw new InvalidDefinitionError(`${primitive.call}("${key}"): classify must be a function`);
  }
  if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0)) {
    throw new InvalidDefinitionError(`${primitive.call}("${key}"): timeoutMs must be a positive finite number of milliseconds, got ${String(options.timeoutMs)}`);
  }
  primitive.validate?.(key, options as never);
  const workflowPolicy = run.deps.workflow.retry;
  return options.retry === undefined ? workflowPolicy : resolveRetryPolicy(workflowPolicy, options.retry, `step "${key}"`);
}

/** Replays the key's recorded outcome, or returns the position to run it at. */
async function enter<Options extends StepOptions<never>>(
  run: RunState,
  primitive: Primitive<never, Options, unknown>,
  key: string,
  options: Options,
  policy: RetryPolicy,
): Promise<number | { replayed: unknown }> {
  let record: StepRecord | undefined;
  let seq: number;
  try {
    const lookup = run.journal.recordOf(key, primitive.kind);
    record = lookup && (await lookup);
    if (record?.outcome && record.outcome.kind !== 'cancelled') return { replayed: replay(run, key, record, options, policy) };
    // Compensating: the replay only collects compensations, up to the first step with no outcome.
    if (run.deps.mode === 'compensating') throw new CompensationUnwind();
    if (run.expired) throw run.expired; // past the execution's deadline: nothing new runs
    const placed = record ? record.seq : run.journal.placeNew(key);
    seq = typeof placed === 'number' ? placed : await placed;
  } catch (err) {
    if (err instanceof StepFailedError) throw err; // a recorded failure, replayed: the workflow's to catch
    throw run.interrupted(err);
  }
  if (run.deps.shouldYield()) throw run.interrupted(new YieldSignal());
  if (run.deps.signal.aborted) throw run.interrupted(run.deps.signal.reason);
  return seq;
}

function replay(run: RunState, key: string, record: StepRecord, options: StepOptions<never>, policy: RetryPolicy): unknown {
  const outcome = record.outcome!;
  run.stepsReplayed++;
  if (outcome.kind === 'failed') {
    const error = new StepFailedError(key, outcome.error);
    const type = isFailureType(outcome.error.failureType) ? outcome.error.failureType : 'PERMANENT';
    const source = (outcome.error.source as FaultSource | undefined) ?? 'step';
    run.lastStepFailure = { stepKey: key, attempt: record.attempt, error, type, source, retriesExhausted: outcome.error.retriesExhausted === true };
    throw error;
  }
  if (outcome.kind !== 'completed') throw new Error(`step "${key}" has no output to replay`); // enter never asks
  addCompensable(run, key, record.seq, outcome.output, options, policy, outcome.compensation, outcome.lsn);
  return outcome.output;
}

/** Attempts of a call that must run, until one settles it (or its error leaves the skeleton). */
async function attempts<Fn, Options extends StepOptions<never>, T>(
  run: RunState,
  primitive: Primitive<Fn, Options, T>,
  call: { key: string; seq: number; fn: Fn; options: Options; policy: RetryPolicy },
): Promise<T> {
  const { key, seq, options, policy } = call;
  const { deps } = run;
  for (;;) {
    const attempt = await run.storage(() => run.journal.begin(seq, key, primitive.kind));
    const deadline = options.timeoutMs === undefined ? undefined : attemptDeadline(run, key, attempt, options.timeoutMs);
    const a: Attempt<Fn, Options> = {
      ...call,
      run,
      attempt,
      stepContext: {
        idempotencyKey: `${run.executionId}:${key}`,
        attempt,
        executionId: run.executionId,
        stepKey: key,
        signal: deadline?.signal ?? run.signal,
      },
    };
    // The streak is at most the attempt number: within maxAttempts there is nothing to read.
    const worn = attempt > policy.maxAttempts ? await attemptsWornOut(run, key, attempt, policy) : undefined;
    if (worn) return attemptFailed(run, a, worn);
    crashPoint('before-step', key);
    // The intent is committed, the body not begun: a worker resumed after a stall must not start it on
    // an execution another worker took over meanwhile (its writes would be refused, not its effect).
    const confirming = deps.confirmLease?.();
    if (confirming) {
      try {
        await confirming;
      } catch (err) {
        deadline?.cancel();
        throw run.interrupted(err);
      }
    }
    const span: Span = startStepSpan(deps.span, {
      workflow: deps.workflow.name,
      executionId: run.executionId,
      stepKey: key,
      attempt,
      transactional: primitive.kind === 'transaction',
    });
    (primitive.kind === 'transaction' ? deps.metrics?.transactionAttempts : deps.metrics?.stepAttempts)?.inc();
    const started = performance.now();
    let result: { output: T; outputJson?: string | null };
    try {
      result = await (deadline ? deadline.race(run.track(primitive, a)) : run.track(primitive, a));
    } catch (error) {
      deps.metrics?.stepDuration.observe((performance.now() - started) / 1000);
      if (deps.signal.aborted) {
        span.end();
        throw run.interrupted(deps.signal.reason); // the lease is gone: record nothing
      }
      const verdict = await primitive.judge(error, a);
      if (verdict === 'fail') return attemptFailed(run, a, error, span);
      span.end();
      if (verdict === 'interrupt') throw run.interrupted(error);
      continue; // 'again': the whole call as its next attempt
    }
    deps.metrics?.stepDuration.observe((performance.now() - started) / 1000);
    endStepSpan(span);
    run.stepsRun++;
    primitive.settle(a, result.outputJson);
    addCompensable(run, key, seq, result.output, options, policy, null, undefined);
    return result.output;
  }
}

/**
 * One attempt's deadline (StepOptions.timeoutMs). If the attempt has not settled by then, its signal
 * aborts, the execution's fencing token moves on (aries.time_out_step: the run goes on under the new one,
 * so whatever the attempt still writes under the old one is refused) and the attempt fails with
 * StepTimeoutError, a TRANSIENT failure. If the database finds the attempt already completed (a
 * transaction that committed as its time ran out), its result stands.
 */
function attemptDeadline(run: RunState, key: string, attempt: number, timeoutMs: number) {
  const { deps } = run;
  const controller = new AbortController();
  const onAbort = () => controller.abort(run.signal.reason);
  if (run.signal.aborted) onAbort();
  else run.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<typeof FIRED>((resolve) => (timer = setTimeout(() => resolve(FIRED), timeoutMs)));
  const clear = () => {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onAbort);
  };
  return {
    signal: controller.signal,
    /** The attempt never started: no deadline to watch. */
    cancel: clear,
    async race<T>(attemptRun: Promise<T>): Promise<T> {
      const first = await Promise.race([attemptRun.then((value) => ({ value }), (error: unknown) => ({ error })), fired]);
      clear();
      if (first !== FIRED) {
        if ('error' in first) throw first.error;
        return first.value;
      }
      const error = new StepTimeoutError(`step "${key}" (attempt ${attempt}) ran past its timeoutMs of ${timeoutMs} ms`, { stepKey: key, timeoutMs });
      controller.abort(error);
      attemptRun.catch(() => {}); // what the abandoned attempt does next is refused or ignored
      run.forget(attemptRun);
      const token = await run.storage(() => timeOutStep(deps.db, deps.lease, key, attempt));
      if (token === null) return attemptRun; // it completed first: its result stands
      deps.lease.token = token;
      deps.metrics?.timeouts.step.inc();
      throw error;
    },
  };
}

const FIRED = Symbol('deadline');

/** A completed step with a compensation joins the run's list (replayed: with its status and completion LSN). */
function addCompensable(
  run: RunState,
  stepKey: string,
  seq: number,
  output: unknown,
  options: StepOptions<never>,
  policy: RetryPolicy,
  status: CompensableStep['status'],
  lsn: number | undefined,
): void {
  const inTransaction = (options as TransactionOptions<never>).compensateInTransaction;
  if (!options.compensate && !inTransaction) return;
  run.addCompensable({
    stepKey,
    seq,
    output,
    compensate: (options.compensate ?? (() => undefined)) as Compensation<unknown>,
    inTransaction: inTransaction && {
      fn: inTransaction as TransactionCompensation<unknown>,
      isolation: (options as TransactionOptions<never>).isolation ?? 'read committed',
    },
    policy,
    classify: options.classify,
    status,
    lsn,
  });
}
