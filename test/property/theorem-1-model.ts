/**
 * The model Theorem 1 is checked against: what the source model says a generated case must do, phase by
 * phase, given its behaviours and crashes. A phase ends when the execution rests (COMPLETED, COMPENSATED or
 * FAILED); after a FAILED phase the execution is recovered, which starts the next one. Before that the cause
 * of a PERMANENT error is fixed (its behaviour turned off); a TRANSIENT one whose retries ran out is left as
 * it is (the infrastructure came back): its remaining failures fit the fresh retry budget recovery gives.
 *
 *   forward      steps run in order (a parallel group's too: its steps always succeed and never crash, so
 *                the order they really complete in changes nothing the model counts). Every invocation uses an attempt of the step's budget, a crashed one
 *                too; a TRANSIENT error with attempts left (used < maxAttempts) is retried; otherwise (or a
 *                PERMANENT error) the step fails. A crash re-runs the step (after-effect: its effect twice,
 *                with the same idempotency key); a crash after the commit re-runs nothing, and one after a
 *                failure changes nothing (the retry, or the recorded failure, follows as it would have).
 *                A crash re-runs the step even past maxAttempts: the engine refuses only a crash loop
 *                (maxAttempts attempts in a row that all ended in a crash), which the generator never makes
 *                (test/integration/failure-model.test.ts covers it).
 *   step failure after a compensable step completed → PARTIAL: compensate. Otherwise PERMANENT: roll back
 *                to the last checkpoint (the completed steps after it, and the failed step, are voided and run
 *                again after recovery) and end FAILED.
 *   compensate   the completed compensable steps' compensations, in reverse completion order, each retried
 *                like a step; one that fails ends the execution FAILED (PARTIAL); all done → COMPENSATED.
 *   recovery     resets the retry budgets; a FAILED forward phase resumes after the kept steps, a failed
 *                compensation resumes the compensations not completed.
 */
import { CaseState, MAX_ATTEMPTS, stepKey, takesCheckpoint, type CaseSpec } from './generated-workflow.js';

export interface ModelFailure {
  type: 'PERMANENT' | 'PARTIAL';
  strategy: 'rollback' | 'compensate';
  stepKey: string;
  retriesExhausted: boolean;
}

export interface ModelPhase {
  status: 'COMPLETED' | 'COMPENSATED' | 'FAILED';
  /** The failure that ended a FAILED phase. */
  failure?: ModelFailure;
  /** Every failure not yet recovered when the phase ends (sorted by step key, then type). */
  unrecovered: ModelFailure[];
  /** What the fix before the next phase turns off (nothing after exhausted TRANSIENT retries). */
  fix?: { kind: 'step' | 'compensation'; step: number };
  /** The execution's step rows at rest, by position: [key, status, compensation status]. */
  steps: StepRowModel[];
}

export type StepRowModel = [key: string, status: 'COMPLETED' | 'FAILED' | 'ROLLED_BACK', compensation: 'COMPLETED' | 'FAILED' | null];

export interface ModelResult {
  phases: ModelPhase[];
  /** Per step, the attempt number of every application of its effect (its length: how many times). */
  effects: number[][];
  /** Per step, the attempt number of every application of its compensation's effect. */
  compensations: number[][];
  /** Steps whose compensation completed, in the order they completed. */
  compensationOrder: number[];
  /** The step keys voided by each rollback, in order (as execution_rolled_back records list them). */
  rollbacks: string[][];
  /** The step whose failure first sent the execution into compensation, if one did. */
  compensationCause: number | undefined;
  /** Crash points that fired. */
  crashes: number;
}

type Outcome = 'crash' | 'transient' | 'permanent' | 'ok';

const byKey = (a: ModelFailure, b: ModelFailure) => (a.stepKey + a.type).localeCompare(b.stepKey + b.type);

export function simulate(spec: CaseSpec): ModelResult {
  const st = new CaseState(spec);
  const n = spec.steps.length;
  const effects = spec.steps.map((): number[] => []);
  const compensations = spec.steps.map((): number[] => []);
  // Every invocation follows a journaled intent (step_started / compensation_started) that numbers it:
  // attempts count invocations, and never restart (recovery resets the retry budget, not the number).
  const attempts = spec.steps.map(() => 0);
  const compensationAttempts = spec.steps.map(() => 0);
  const compensationOrder: number[] = [];
  const rollbacks: string[][] = [];
  const phases: ModelPhase[] = [];
  let used = spec.steps.map(() => 0);
  let compensationUsed = spec.steps.map(() => 0);
  const compensated = new Set<number>();
  let unrecovered: ModelFailure[] = [];
  let completed: number[] = []; // a prefix 0..k-1 of the steps, in completion order
  let compensating = false;
  let compensationCause: number | undefined;

  const invokeStep = (i: number): Outcome => {
    used[i]!++;
    attempts[i]!++;
    if (st.takeCrash('before-effect', i)) return 'crash';
    const error = st.stepError(i);
    if (error) {
      // A crash after the failure changes nothing: a retry not yet scheduled is made by the next worker (the
      // attempt is used either way), and a recorded failure is replayed.
      st.takeCrash('after-failure', i);
      return error;
    }
    effects[i]!.push(attempts[i]!);
    return st.takeCrash('after-effect', i) ? 'crash' : 'ok';
  };
  const invokeCompensation = (i: number): Outcome => {
    compensationUsed[i]!++;
    compensationAttempts[i]!++;
    if (st.takeCrash('compensation-before-effect', i)) return 'crash';
    const error = st.compensationError(i);
    if (error) return error;
    compensations[i]!.push(compensationAttempts[i]!);
    return st.takeCrash('compensation-after-effect', i) ? 'crash' : 'ok';
  };
  /** Invokes until done: undefined when it succeeded, else whether the failure exhausted TRANSIENT retries. */
  const runToEnd = (invoke: () => Outcome, usedOf: () => number): { exhausted: boolean } | undefined => {
    for (;;) {
      const outcome = invoke();
      if (outcome === 'ok') return undefined;
      if (outcome === 'crash') continue;
      if (outcome === 'transient' && usedOf() < MAX_ATTEMPTS) continue;
      return { exhausted: outcome === 'transient' };
    }
  };
  const rows = new Map<number, StepRowModel>();
  const rest = (phase: Omit<ModelPhase, 'unrecovered' | 'steps'>) =>
    phases.push({ ...phase, unrecovered: [...unrecovered].sort(byKey), steps: [...rows].sort((a, b) => a[0] - b[0]).map(([, r]) => [...r] as StepRowModel) });

  for (;;) {
    if (!compensating) {
      let failed: { step: number; exhausted: boolean } | undefined;
      for (let i = completed.length; i < n && !failed; i++) {
        const f = runToEnd(() => invokeStep(i), () => used[i]!);
        if (f) failed = { step: i, ...f };
        else {
          st.takeCrash('after-commit', i);
          completed.push(i);
          rows.set(i, [stepKey(i), 'COMPLETED', null]);
        }
      }
      if (!failed) {
        rest({ status: 'COMPLETED' });
        break;
      }
      const failure = { stepKey: stepKey(failed.step), retriesExhausted: failed.exhausted };
      if (completed.some((j) => spec.steps[j]!.compensable)) {
        compensating = true;
        compensationCause = failed.step;
        rows.set(failed.step, [stepKey(failed.step), 'FAILED', null]);
        unrecovered.push({ type: 'PARTIAL', strategy: 'compensate', ...failure });
      } else {
        const lastCheckpoint = Math.max(-1, ...completed.filter((j) => takesCheckpoint(spec, j)));
        const kept = completed.filter((j) => j <= lastCheckpoint);
        const voided = [...completed.slice(kept.length), failed.step];
        rollbacks.push(voided.map(stepKey));
        for (const j of voided) rows.set(j, [stepKey(j), 'ROLLED_BACK', null]);
        completed = kept;
        const f: ModelFailure = { type: 'PERMANENT', strategy: 'rollback', ...failure };
        unrecovered.push(f);
        if (failed.exhausted) rest({ status: 'FAILED', failure: f });
        else {
          rest({ status: 'FAILED', failure: f, fix: { kind: 'step', step: failed.step } });
          st.fixedSteps.add(failed.step);
        }
        used = used.map(() => 0);
        unrecovered = [];
        continue;
      }
    }
    // compensating: reverse completion order, skipping compensations that completed
    let failed: { step: number; exhausted: boolean } | undefined;
    for (const j of [...completed].reverse()) {
      if (!spec.steps[j]!.compensable || compensated.has(j)) continue;
      const f = runToEnd(() => invokeCompensation(j), () => compensationUsed[j]!);
      if (f) {
        failed = { step: j, ...f };
        rows.get(j)![2] = 'FAILED';
        break;
      }
      rows.get(j)![2] = 'COMPLETED';
      compensated.add(j);
      compensationOrder.push(j);
    }
    if (!failed) {
      unrecovered = unrecovered.filter((f) => f.strategy !== 'compensate');
      rest({ status: 'COMPENSATED' });
      break;
    }
    const f: ModelFailure = { type: 'PARTIAL', strategy: 'compensate', stepKey: stepKey(failed.step), retriesExhausted: failed.exhausted };
    unrecovered.push(f);
    if (failed.exhausted) rest({ status: 'FAILED', failure: f });
    else {
      rest({ status: 'FAILED', failure: f, fix: { kind: 'compensation', step: failed.step } });
      st.fixedCompensations.add(failed.step);
    }
    rows.get(failed.step)![2] = null; // recovery resets a failed compensation; completed ones stay
    compensationUsed = compensationUsed.map(() => 0);
    unrecovered = [];
  }
  return { phases, effects, compensations, compensationOrder, rollbacks, compensationCause, crashes: st.fired.size };
}

/**
 * The first phase's end straight from the source model's rule, independent of the simulation: no failure →
 * COMPLETED; a PERMANENT (or exhausted TRANSIENT) step failure after a compensable step completed →
 * COMPENSATED, or FAILED if one of the compensations fails; without such a step → FAILED (rolled back).
 */
export function firstOutcome(spec: CaseSpec): ModelPhase['status'] {
  const crashedBefore = (i: number, point: string) => spec.crashes.some((c) => c.step === i && c.point === point);
  const fails = (b: CaseSpec['steps'][number]['behaviour'], crashAttempt: boolean) =>
    b.kind === 'permanent' || (b.kind === 'transient' && b.times + (crashAttempt ? 1 : 0) >= MAX_ATTEMPTS);
  const failing = spec.steps.findIndex((s, i) => fails(s.behaviour, crashedBefore(i, 'before-effect')));
  if (failing < 0) return 'COMPLETED';
  const compensable = spec.steps.slice(0, failing).map((s, i) => ({ s, i })).filter(({ s }) => s.compensable);
  if (compensable.length === 0) return 'FAILED';
  return compensable.some(({ s, i }) => fails(s.compensation, crashedBefore(i, 'compensation-before-effect'))) ? 'FAILED' : 'COMPENSATED';
}
