/**
 * The interface every ctx primitive implements. The shared skeleton (../attempt.ts) does what all of them
 * do — check the call, find the key's record, replay it or take a position, journal the intent, number
 * the attempt, trace and count it, route its failure — and asks the primitive only what differs:
 *
 *   kind     what the journal records under the key; replay refuses a recorded key called as another kind
 *   run      one attempt: the user's function and whatever the primitive commits with it
 *   settle   after a successful attempt: queue the completion, or mark the commit that already holds it
 *   judge    an attempt's error: the common failure path, run another attempt now, or hand the run back
 *
 * A new primitive (sleep, signal, child workflow, timeout) is one more file beside step.ts and
 * transaction.ts; ending the run to wait is an interrupt the runner maps to its closing transition.
 */
import type { RetryPolicy } from '../../../core/retry-policy.js';
import type { StepKind } from '../../../db/steps.js';
import type { StepContext, StepOptions } from '../../../sdk/types/workflow-context.js';
import type { RunState } from '../run-state.js';

/**
 * A wait (sleep, signal wait, child workflow): one attempt, no retry policy. The wait skeleton (../wait.ts)
 * replays it, or begins it in the database and hands it to the run's wait coordinator; the primitive says
 * only how its arguments are checked and how it is begun.
 */
export interface WaitPrimitive<Spec> {
  readonly kind: 'sleep' | 'signal' | 'child';
  /** How the call is written in code, for error messages: 'ctx.sleep'. */
  readonly call: string;
  /** Checks the call's arguments; throws InvalidDefinitionError / InvalidInputError, before anything is stored. */
  validate(key: string, spec: Spec): void;
  /** Records the wait at its position (and, for a child, starts the child), under the run's lease. */
  begin(run: RunState, key: string, seq: number, spec: Spec): Promise<void>;
}

/** One attempt of a call, as the skeleton hands it to its primitive. */
export interface Attempt<Fn, Options extends StepOptions<never>> {
  run: RunState;
  key: string;
  seq: number;
  attempt: number;
  fn: Fn;
  options: Options;
  policy: RetryPolicy;
  /** What the user's function gets about itself. */
  stepContext: StepContext;
}

/** What an attempt's error means: the common failure path, another attempt at once, or the run handed back. */
export type AttemptVerdict = 'fail' | 'again' | 'interrupt';

export interface Primitive<Fn, Options extends StepOptions<never>, T> {
  readonly kind: StepKind;
  /** How the call is written in code, for error messages: 'ctx.step'. */
  readonly call: string;
  /** Checks options beyond those every step has; throws InvalidDefinitionError. */
  validate?(key: string, options: Options): void;
  /** One attempt. Resolves with the output and, when not committed by the attempt itself, its JSON. */
  run(a: Attempt<Fn, Options>): Promise<{ output: T; outputJson?: string | null }>;
  /** After a successful attempt (its function returned; for a transaction, committed). */
  settle(a: Attempt<Fn, Options>, outputJson: string | null | undefined): void;
  judge(error: unknown, a: Attempt<Fn, Options>): Promise<AttemptVerdict>;
}
