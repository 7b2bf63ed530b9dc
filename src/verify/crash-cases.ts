/**
 * Which crashes to try, from what the reference run's journal shows the workflow reaches: each crash
 * point of src/worker/crash-points.ts paired with every step key that passed it. A point no step passed
 * (during-retry-wait when nothing retries) has no case and is reported "not reached"; trying it would
 * only run the workflow to its end again. The user may narrow both lists (--points, --steps).
 */
import { CRASH_POINTS, type CrashPoint } from '../worker/crash-points.js';
import type { JournalSummary } from './journal-summary.js';

export interface CrashCase {
  point: CrashPoint;
  stepKey: string;
}

/** The step keys at which the reference run passed `point`, in the order they first appear. */
export function keysReaching(point: CrashPoint, reference: JournalSummary): string[] {
  switch (point) {
    case 'before-step':
      return reference.stepKeys; // crashPoint runs once the intent is committed
    case 'after-step-effect':
    case 'after-step-commit':
      return reference.completedKeys; // the function returned, and its output was then committed
    case 'during-retry-wait':
      return reference.retriedKeys;
    case 'during-compensation':
      return reference.compensationStartedKeys;
    case 'after-compensation-effect':
      return reference.compensatedKeys;
  }
}

export function crashCases(
  reference: JournalSummary,
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
