/**
 * Generated workflows for the Theorem 1 property test: a case is a workflow of 3–12 steps, some with
 * compensations, a failure behaviour for every step and every compensation, a checkpoint policy, and crash
 * points at step boundaries. About half the cases also run some steps in parallel: up to two groups, each
 * a Promise.all of 2–3 chains of 1–3 steps, every step of a group waiting a seeded delay first, so the
 * group's steps complete (and take their journal positions) in an order other than the code's; replay
 * must match them by key.
 *
 * What a parallel group may hold is chosen so that the case's course stays independent of that order
 * (the model runs steps in index order and must agree): its steps always succeed, have no compensation
 * (compensations run in completion order), are never marked for a checkpoint and never crash, and a case
 * with groups checkpoints every step or at marked steps only (a cadence by position would depend on the
 * order). Replays of a group are forced by the sequential steps around it: their crashes, TRANSIENT
 * retries, rollbacks (which may void a group's steps, run again after recovery) and compensations. `CaseState` decides what an invocation of a step or compensation
 * does (crash, throw, apply its effect); the workflow built here and the model (theorem-1-model.ts) each
 * hold their own CaseState, so they make the same decisions for the same sequence of invocations.
 *
 * Crash points (each fires once per case):
 *   before-effect      the step's intent is committed; its function hangs before its effect
 *   after-effect       its effect is applied; its function hangs before returning (nothing committed)
 *   after-commit       its completion is committed (flushed alone); the workflow hangs before the next step
 *   after-failure      its function threw and the engine handed the workflow the outcome (a retry not yet
 *                      scheduled, or the failure recorded but not yet the execution's); the workflow hangs
 *   compensation-before-effect / compensation-after-effect   the same two points of its compensation
 * "Hangs" means a never-resolving promise: the worker is then stopped with a tiny shutdownTimeoutMs and the
 * lease expired by SQL, which is how a worker dies in-process (see test/integration/replay.test.ts).
 */
import fc from 'fast-check';
import type { Queryable } from '../../src/db/database.js';
import { defineWorkflow, PermanentError, type CheckpointPolicy, type RetryOptions, type Workflow, type WorkflowContext } from '../../src/index.js';
import { waitForStepCompleted } from '../helpers/sql.js';

export const MAX_ATTEMPTS = 4;
export const RETRY: RetryOptions = { maxAttempts: MAX_ATTEMPTS, initialDelayMs: 5, maxDelayMs: 20, jitter: 'none' };

/** What every invocation of a step (or compensation) does until the case "fixes" it. */
export type Behaviour =
  | { kind: 'ok' }
  /** Throws a plain Error (TRANSIENT) on its first `times` invocations, then succeeds. */
  | { kind: 'transient'; times: number }
  /** Throws a PermanentError on every invocation. */
  | { kind: 'permanent' };

export const STEP_CRASH_POINTS = ['before-effect', 'after-effect', 'after-commit', 'after-failure'] as const;
export const COMPENSATION_CRASH_POINTS = ['compensation-before-effect', 'compensation-after-effect'] as const;
export type CrashPointName = (typeof STEP_CRASH_POINTS)[number] | (typeof COMPENSATION_CRASH_POINTS)[number];

export interface CrashSpec {
  point: CrashPointName;
  step: number;
}

export interface StepSpec {
  compensable: boolean;
  behaviour: Behaviour;
  /** Only meaningful when compensable. */
  compensation: Behaviour;
  /** Marked for a checkpoint (only meaningful with the 'marked' policy). */
  checkpoint: boolean;
  /** How long its function waits before its effect (non-zero only in a parallel group). */
  delayMs: number;
}

/** Steps start..start+sum(branches)-1 run as parallel chains: chain k takes the next branches[k] of them. */
export interface GroupSpec {
  start: number;
  branches: number[];
}

export interface CaseSpec {
  steps: StepSpec[];
  crashes: CrashSpec[];
  /** Parallel groups, in step order, not overlapping; at least one step stays outside them. */
  groups: GroupSpec[];
  /** Checkpoint every N completed steps (1 = 'every-step'), or at the steps marked. */
  checkpoint: 1 | 2 | 3 | 'marked';
}

export const stepKey = (i: number): string => `s${i}`;

/** The workflow's shape: single steps in order, and the chains (step indices) of each parallel group. */
export type Segment = { kind: 'step'; step: number } | { kind: 'group'; chains: number[][] };

export function segments(spec: CaseSpec): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  for (const g of [...spec.groups, { start: spec.steps.length, branches: [] }]) {
    for (; i < g.start; i++) out.push({ kind: 'step', step: i });
    if (g.branches.length === 0) continue;
    out.push({ kind: 'group', chains: g.branches.map((len) => Array.from({ length: len }, () => i++)) });
  }
  return out;
}

/** Whether step i runs inside a parallel group. */
export function inGroup(spec: CaseSpec, i: number): boolean {
  return spec.groups.some((g) => i >= g.start && i < g.start + g.branches.reduce((a, b) => a + b, 0));
}

export function checkpointPolicy(policy: CaseSpec['checkpoint']): CheckpointPolicy {
  return policy === 1 ? 'every-step' : policy === 'marked' ? 'marked' : { every: policy };
}

/** Whether completing step i writes a checkpoint (by position, as the engine decides it). */
export function takesCheckpoint(spec: CaseSpec, i: number): boolean {
  return spec.checkpoint === 'marked' ? spec.steps[i]!.checkpoint : (i + 1) % spec.checkpoint === 0;
}

// ---- generators ----------------------------------------------------------------------------------

/** density 0: no step fails for good (transients that recover); 1: some failures; 2: many. */
function behaviourArb(density: 0 | 1 | 2): fc.Arbitrary<Behaviour> {
  const ok = fc.constant<Behaviour>({ kind: 'ok' });
  const recovering = fc.integer({ min: 1, max: MAX_ATTEMPTS - 1 }).map((times): Behaviour => ({ kind: 'transient', times }));
  const transient = fc.integer({ min: 1, max: MAX_ATTEMPTS + 1 }).map((times): Behaviour => ({ kind: 'transient', times }));
  const permanent = fc.constant<Behaviour>({ kind: 'permanent' });
  if (density === 0) return fc.oneof({ arbitrary: ok, weight: 4 }, { arbitrary: recovering, weight: 1 });
  const [okW, trW, pmW] = density === 1 ? [10, 3, 1] : [3, 2, 1];
  return fc.oneof({ arbitrary: ok, weight: okW }, { arbitrary: transient, weight: trW }, { arbitrary: permanent, weight: pmW });
}

const compensationArb: fc.Arbitrary<Behaviour> = fc.oneof(
  { arbitrary: fc.constant<Behaviour>({ kind: 'ok' }), weight: 6 },
  { arbitrary: fc.integer({ min: 1, max: MAX_ATTEMPTS + 1 }).map((times): Behaviour => ({ kind: 'transient', times })), weight: 2 },
  { arbitrary: fc.constant<Behaviour>({ kind: 'permanent' }), weight: 1 },
);

function stepArb(density: 0 | 1 | 2): fc.Arbitrary<StepSpec> {
  return fc.record({
    compensable: fc.boolean(),
    behaviour: behaviourArb(density),
    compensation: compensationArb,
    checkpoint: fc.boolean(),
    delayMs: fc.constant(0),
  });
}

/** Up to two groups placed where they fit in n steps, leaving at least one step outside every group. */
function groupsArb(n: number): fc.Arbitrary<GroupSpec[]> {
  const raw = fc.record({ start: fc.nat({ max: n - 1 }), branches: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 }) });
  return fc.array(raw, { minLength: 1, maxLength: 2 }).map((candidates) => {
    const placed: GroupSpec[] = [];
    let free = 0;
    let grouped = 0;
    for (const g of [...candidates].sort((a, b) => a.start - b.start)) {
      const size = g.branches.reduce((a, b) => a + b, 0);
      if (g.start < free || g.start + size > n || grouped + size > n - 1) continue;
      placed.push(g);
      free = g.start + size;
      grouped += size;
    }
    return placed;
  });
}

/** A group's steps: always succeed, no compensation, no checkpoint mark, a seeded delay of 0–8 ms. */
function parallelize(steps: StepSpec[], groups: GroupSpec[], delays: number[]): StepSpec[] {
  const spec = { steps, groups } as CaseSpec;
  return steps.map((s, i) => (inGroup(spec, i) ? { ...s, behaviour: { kind: 'ok' }, compensable: false, checkpoint: false, delayMs: delays[i]! } : s));
}

/**
 * Crash points where they can fire: any step's boundaries, a failing step's failure, a compensable step's
 * compensation; never inside a parallel group (a sibling still running at the crash would make the count of
 * its effects depend on timing).
 */
function crashArb(steps: StepSpec[], groups: GroupSpec[]): fc.Arbitrary<CrashSpec> {
  const spec = { steps, groups } as CaseSpec;
  const indices = (keep: (s: StepSpec) => boolean) => steps.map((s, i) => (keep(s) && !inGroup(spec, i) ? i : -1)).filter((i) => i >= 0);
  const at = (points: readonly CrashPointName[], where: number[]) =>
    fc.record({ point: fc.constantFrom(...points), step: fc.constantFrom(...where) });
  const failing = indices((s) => s.behaviour.kind !== 'ok');
  const compensable = indices((s) => s.compensable);
  return fc.oneof(
    { arbitrary: at(['before-effect', 'after-effect', 'after-commit'], indices(() => true)), weight: 3 },
    ...(failing.length ? [{ arbitrary: at(['after-failure'], failing), weight: 1 }] : []),
    ...(compensable.length ? [{ arbitrary: at(COMPENSATION_CRASH_POINTS, compensable), weight: 2 }] : []),
  );
}

export const caseArb: fc.Arbitrary<CaseSpec> = fc
  .constantFrom<0 | 1 | 2>(0, 1, 2)
  .chain((density) => fc.array(stepArb(density), { minLength: 3, maxLength: 12 }))
  .chain((steps) =>
    fc.tuple(
      fc.constant(steps),
      fc.oneof({ arbitrary: fc.constant<GroupSpec[]>([]), weight: 1 }, { arbitrary: groupsArb(steps.length), weight: 2 }),
      fc.array(fc.integer({ min: 0, max: 8 }), { minLength: steps.length, maxLength: steps.length }),
    ),
  )
  .chain(([plain, groups, delays]) => {
    const steps = parallelize(plain, groups, delays);
    return fc.record({
      steps: fc.constant(steps),
      groups: fc.constant(groups),
      crashes: fc.uniqueArray(crashArb(steps, groups), { maxLength: 4, selector: (c) => `${c.point}:${c.step}` }),
      checkpoint: groups.length
        ? fc.constantFrom<CaseSpec['checkpoint']>(1, 'marked')
        : fc.constantFrom<CaseSpec['checkpoint']>(1, 2, 3, 'marked'),
    });
  });

/** One line per case, for failure messages. */
export function describeCase(spec: CaseSpec): string {
  const b = (x: Behaviour) => (x.kind === 'transient' ? `T${x.times}` : x.kind === 'permanent' ? 'P' : 'ok');
  const steps = spec.steps.map(
    (s, i) =>
      `${stepKey(i)}:${b(s.behaviour)}${s.compensable ? `/comp:${b(s.compensation)}` : ''}` +
      (spec.checkpoint === 'marked' && s.checkpoint ? '/cp' : ''),
  );
  const crashes = spec.crashes.map((c) => `${c.point}@${stepKey(c.step)}`);
  const shape = segments(spec).map((seg) =>
    seg.kind === 'step' ? stepKey(seg.step) : `(${seg.chains.map((c) => c.map((i) => `${stepKey(i)}~${spec.steps[i]!.delayMs}ms`).join('>')).join(' | ')})`,
  );
  return `[${steps.join(' ')}] shape=${shape.join(' ')} crashes=[${crashes.join(' ')}] checkpoint=${spec.checkpoint}`;
}

// ---- decisions -------------------------------------------------------------------------------------

/** The mutable state of one case: which crashes fired, how many failures each behaviour has thrown, what was fixed. */
export class CaseState {
  readonly fired = new Set<string>();
  private readonly planned: Set<string>;
  private readonly stepFailures: number[];
  private readonly compensationFailures: number[];
  /** "The cause was fixed": the step's (or compensation's) behaviour is off from now on. */
  readonly fixedSteps = new Set<number>();
  readonly fixedCompensations = new Set<number>();

  constructor(readonly spec: CaseSpec) {
    this.planned = new Set(spec.crashes.map((c) => `${c.point}:${c.step}`));
    this.stepFailures = spec.steps.map(() => 0);
    this.compensationFailures = spec.steps.map(() => 0);
  }

  /** True (once) when a crash is planned at this point of step i and has not fired yet. */
  takeCrash(point: CrashPointName, i: number): boolean {
    const name = `${point}:${i}`;
    if (!this.planned.has(name) || this.fired.has(name)) return false;
    this.fired.add(name);
    return true;
  }

  /** The error this invocation of step i throws, if any. */
  stepError(i: number): 'transient' | 'permanent' | undefined {
    if (this.fixedSteps.has(i)) return undefined;
    return decide(this.spec.steps[i]!.behaviour, this.stepFailures, i);
  }

  compensationError(i: number): 'transient' | 'permanent' | undefined {
    if (this.fixedCompensations.has(i)) return undefined;
    return decide(this.spec.steps[i]!.compensation, this.compensationFailures, i);
  }
}

function decide(b: Behaviour, failures: number[], i: number): 'transient' | 'permanent' | undefined {
  if (b.kind === 'permanent') return 'permanent';
  if (b.kind === 'transient' && failures[i]! < b.times) {
    failures[i]!++;
    return 'transient';
  }
  return undefined;
}

// ---- the workflow under test -----------------------------------------------------------------------

export interface LedgerEntry {
  kind: 'effect' | 'compensation';
  step: number;
  idempotencyKey: string;
  attempt: number;
  /** What a compensation received as the step's output. */
  output?: unknown;
}

/** The workflow of one case, its ledger of external effects, and the crash signal its driver waits on. */
export class CaseRuntime {
  readonly state: CaseState;
  readonly ledger: LedgerEntry[] = [];
  readonly workflow: Workflow<null, unknown[]>;
  private onCrash: (() => void) | undefined;
  crashes = 0;

  constructor(
    readonly spec: CaseSpec,
    name: string,
    /** Where the after-commit crash reads that the step's completion committed. */
    private readonly db: Queryable,
  ) {
    this.state = new CaseState(spec);
    this.workflow = defineWorkflow(name, { retry: RETRY, checkpoint: checkpointPolicy(spec.checkpoint) }, (ctx) => this.run(ctx));
  }

  /** Resolves when a crash point fires (the worker holding the execution is then "dead"). */
  nextCrash(): Promise<void> {
    return new Promise((resolve) => (this.onCrash = resolve));
  }

  private crash(): Promise<never> {
    this.crashes++;
    const notify = this.onCrash;
    this.onCrash = undefined;
    notify?.();
    return new Promise<never>(() => {}); // this worker never gets further
  }

  private options(i: number) {
    const spec = this.spec.steps[i]!;
    return {
      checkpoint: this.spec.checkpoint === 'marked' && spec.checkpoint,
      ...(spec.compensable
        ? { compensate: (output: unknown, c: { idempotencyKey: string; attempt: number }) => this.compensate(i, output, c) }
        : {}),
    };
  }

  private async run(ctx: WorkflowContext): Promise<unknown[]> {
    const outputs: unknown[] = [];
    for (const seg of segments(this.spec)) {
      if (seg.kind === 'group') {
        await Promise.all(
          seg.chains.map(async (chain) => {
            for (const i of chain) outputs[i] = await ctx.step(stepKey(i), (s) => this.step(i, s), this.options(i));
          }),
        );
        continue;
      }
      const i = seg.step;
      try {
        outputs[i] = await ctx.step(stepKey(i), (s) => this.step(i, s), this.options(i));
      } catch (error) {
        if (this.state.takeCrash('after-failure', i)) await this.crash();
        throw error;
      }
      if (this.state.takeCrash('after-commit', i)) {
        // The completion normally travels with the next step's intent, or is written alone within the
        // engine's flush delay: wait for that, so the worker dies after the step committed and before
        // anything of the next one.
        await waitForStepCompleted(this.db, ctx.executionId, stepKey(i));
        await this.crash();
      }
    }
    return outputs;
  }

  private async step(i: number, s: { idempotencyKey: string; attempt: number }): Promise<{ step: number }> {
    const delay = this.spec.steps[i]!.delayMs;
    if (delay > 0) await new Promise<void>((r) => setTimeout(r, delay));
    if (this.state.takeCrash('before-effect', i)) return this.crash();
    const error = this.state.stepError(i);
    if (error === 'transient') throw new Error(`${stepKey(i)}: transient failure`);
    if (error === 'permanent') throw new PermanentError(`${stepKey(i)}: permanent failure`);
    this.ledger.push({ kind: 'effect', step: i, idempotencyKey: s.idempotencyKey, attempt: s.attempt });
    if (this.state.takeCrash('after-effect', i)) return this.crash();
    return { step: i };
  }

  private async compensate(i: number, output: unknown, c: { idempotencyKey: string; attempt: number }): Promise<string> {
    if (this.state.takeCrash('compensation-before-effect', i)) return this.crash();
    const error = this.state.compensationError(i);
    if (error === 'transient') throw new Error(`${stepKey(i)}: compensation transient failure`);
    if (error === 'permanent') throw new PermanentError(`${stepKey(i)}: compensation permanent failure`);
    this.ledger.push({ kind: 'compensation', step: i, idempotencyKey: c.idempotencyKey, attempt: c.attempt, output });
    if (this.state.takeCrash('compensation-after-effect', i)) return this.crash();
    return `undone ${stepKey(i)}`;
  }
}
