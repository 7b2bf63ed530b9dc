/**
 * Named crash points at the commit boundaries of a step or a wait, for fault tests and for checking a
 * deployment: with ARIES_CRASH_AT=<point>:<step key> in its environment, a worker process kills itself
 * with SIGKILL (no cleanup, no finally blocks, no lease hand-back) the first time it reaches that point for
 * a step of that key. Points, in the order a step passes them:
 *
 *   before-step        the step's intent is committed; its function has not run
 *   after-step-effect  its function returned (side effect done); its output is not yet committed
 *   after-step-commit  the transaction holding its output has committed (the same transaction may also
 *                      hold the next step's intent, or the execution's end)
 *   during-retry-wait  the step failed TRANSIENTLY and its retry is scheduled (committed): the worker dies
 *                      while the execution waits for its durable timer
 *   during-compensation  the step's compensation is journaled as started; it has not run
 *   after-compensation-effect  the compensation returned; its completion is not yet committed
 *
 * and, for a wait (ctx.sleep, ctx.waitForSignal, ctx.child) of that key:
 *
 *   after-wait-begin   a sleep or signal wait is begun (its WAITING row and step_waiting record are
 *                      committed); nothing has been asked about it yet
 *   after-child-start  the child execution is started and the parent's wait for it begun, in one
 *                      committed transaction; the child has not run
 *   during-wait        nothing the run waits for had come: the execution is suspended (SLEEPING or
 *                      WAITING, no lease owner, committed), and the worker dies while it waits
 *   after-wait-settle  the database settled the wait (its completion or failure is committed; a signal
 *                      wait's signal is consumed); the workflow has not seen the outcome
 *
 * and, for a schedule of that name (ARIES_CRASH_AT=after-schedule-claim:<schedule name>):
 *
 *   after-schedule-claim  the firing transaction has locked the due schedule; its slots are not yet
 *                      recorded nor its executions started (the transaction rolls back with the process)
 *
 * A child's compensation (its own saga, run as the parent's undoes it) passes during-compensation when
 * the child is made to compensate and the parent waits for it.
 *
 * Before dying it writes one line to stderr (synchronously), so whoever watches the process can tell the
 * kill happened at the intended point. The variable is read once, at load; when it is unset,
 * `crashPoint` returns at its first comparison.
 */
import { writeSync } from 'node:fs';

export const CRASH_POINTS = [
  'before-step',
  'after-step-effect',
  'after-step-commit',
  'during-retry-wait',
  'during-compensation',
  'after-compensation-effect',
  'after-wait-begin',
  'after-child-start',
  'during-wait',
  'after-wait-settle',
] as const;
/** The points a scheduler passes (not a step's or a wait's: `aries verify` does not crash there). */
export const SCHEDULER_CRASH_POINTS = ['after-schedule-claim'] as const;
const ALL_CRASH_POINTS: readonly string[] = [...CRASH_POINTS, ...SCHEDULER_CRASH_POINTS];
export type CrashPoint = (typeof CRASH_POINTS)[number] | (typeof SCHEDULER_CRASH_POINTS)[number];

interface CrashTarget {
  point: CrashPoint;
  stepKey: string;
}

/** Parses `<point>:<step key>` (the key may itself contain ':'); throws on an unknown point. */
export function parseCrashSpec(spec: string): CrashTarget {
  const colon = spec.indexOf(':');
  const point = colon < 0 ? spec : spec.slice(0, colon);
  const stepKey = colon < 0 ? '' : spec.slice(colon + 1);
  if (!ALL_CRASH_POINTS.includes(point) || stepKey === '') {
    throw new Error(`ARIES_CRASH_AT must be <point>:<step key> with point one of ${ALL_CRASH_POINTS.join(', ')}; got "${spec}"`);
  }
  return { point: point as CrashPoint, stepKey };
}

const spec = process.env.ARIES_CRASH_AT;
const target: CrashTarget | undefined = spec ? parseCrashSpec(spec) : undefined;

/** Kills this process at once if ARIES_CRASH_AT names this point and step. */
export function crashPoint(point: CrashPoint, stepKey: string): void {
  if (target === undefined || target.point !== point || target.stepKey !== stepKey) return;
  writeSync(2, `aries: crash point ${point}:${stepKey} reached; killing process ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
