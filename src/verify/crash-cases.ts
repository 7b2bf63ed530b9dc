/**
 * Which crashes to try, from what the reference run's journals show the workflow reaches: each crash
 * point of src/worker/crash-points.ts paired with every step or wait key that passed it, in the
 * execution and in the child executions it started (a crash in a child's run kills the worker that runs
 * the child, as it would the parent's). A point nothing passed (during-retry-wait when nothing retries)
 * has no case and is reported "not reached"; trying it would only run the workflow to its end again. The
 * user may narrow both lists (--points, --steps).
 */
import { CRASH_POINTS, type CrashPoint } from '../worker/crash-points.js';
import type { JournalSummary } from './journal-summary.js';

export interface CrashCase {
  point: CrashPoint;
  stepKey: string;
}

const isWait = (summary: JournalSummary, key: string) => (summary.byKey.get(key)?.waitBegun ?? 0) > 0;
const waitKind = (summary: JournalSummary, key: string) => summary.byKey.get(key)?.waitKind ?? null;

/** The step or wait keys at which one execution of the reference run passed `point`, in the order they first appear. */
function keysReachingIn(point: CrashPoint, reference: JournalSummary): string[] {
  switch (point) {
    case 'before-step':
      return reference.stepKeys; // crashPoint runs once the intent is committed
    case 'after-step-effect':
    case 'after-step-commit':
      // The function returned, and its output was then committed (a wait has no function).
      return reference.completedKeys.filter((k) => !isWait(reference, k));
    case 'during-retry-wait':
      return reference.retriedKeys;
    case 'during-compensation':
      return reference.compensationStartedKeys;
    case 'after-compensation-effect':
      // A child's compensation is its own saga: its completion commits as the child is undone.
      return reference.compensatedKeys.filter((k) => waitKind(reference, k) !== 'child');
    case 'after-wait-begin':
      return reference.waitKeys.filter((k) => waitKind(reference, k) !== 'child');
    case 'after-child-start':
      return reference.waitKeys.filter((k) => waitKind(reference, k) === 'child');
    case 'during-wait':
      return reference.suspendedOn;
    case 'after-wait-settle':
      return reference.settledWaitKeys;
    case 'after-schedule-claim':
      return []; // a scheduler's point, not an execution's
  }
}

/** The keys at which the reference run passed `point`: in the execution first, then in its children's. */
export function keysReaching(point: CrashPoint, summaries: readonly JournalSummary[]): string[] {
  const keys: string[] = [];
  for (const summary of summaries) for (const key of keysReachingIn(point, summary)) if (!keys.includes(key)) keys.push(key);
  return keys;
}

/** Every step and wait key of the reference run's executions, for checking --steps. */
export function referenceKeys(summaries: readonly JournalSummary[]): string[] {
  const keys: string[] = [];
  for (const summary of summaries) for (const key of [...summary.stepKeys, ...summary.waitKeys]) if (!keys.includes(key)) keys.push(key);
  return keys;
}

export function crashCases(
  reference: readonly JournalSummary[],
  filter: { points?: readonly CrashPoint[] | undefined; steps?: readonly string[] | undefined } = {},
): { cases: CrashCase[]; unreached: CrashPoint[] } {
  const cases: CrashCase[] = [];
  const unreached: CrashPoint[] = [];
  for (const point of CRASH_POINTS) {
    if (filter.points && !filter.points.includes(point)) continue;
    const keys = keysReaching(point, reference);
    const chosen = filter.steps ? keys.filter((k) => filter.steps!.includes(k)) : keys;
    if (keys.length === 0) unreached.push(point);
    for (const stepKey of chosen) cases.push({ point, stepKey });
  }
  return { cases, unreached };
}

/** Parses `--points a,b`: every name must be a crash point. */
export function parsePoints(text: string): CrashPoint[] | string {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !(CRASH_POINTS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    return `--points takes crash points separated by commas (${CRASH_POINTS.join(', ')}); got "${text}"`;
  }
  return names as CrashPoint[];
}
