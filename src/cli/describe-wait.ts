/**
 * A wait (ctx.sleep, ctx.waitForSignal, ctx.child) as `aries status` prints it, on one line: what it
 * waits for, since when and until when, every time on the database clock as stored. The same words as
 * the API's StepWait: a sleep wakes at `until`; a signal or child wait fails with WAIT_TIMEOUT at its
 * timeout.
 */
import type { StepWait } from '../db/rows.js';
import { formatTime } from './format-table.js';

export function describeWait(wait: StepWait): string {
  const timeout = wait.timeoutAt === null ? 'no timeout' : `times out at ${formatTime(wait.timeoutAt)}`;
  switch (wait.kind) {
    case 'sleep':
      return `sleep until ${formatTime(wait.until)}`;
    case 'signal':
      return `signal ${JSON.stringify(wait.signal)} since ${formatTime(wait.since)}, ${timeout}`;
    case 'child':
      return `child ${wait.childId ?? '-'} (${wait.childStatus ?? 'not started'}) since ${formatTime(wait.since)}, ${timeout}`;
  }
}

/** The waits still open among an execution's steps (several under Promise.all or a race). */
export function openWaits(steps: readonly { status: string; wait: StepWait | null }[]): StepWait[] {
  return steps.flatMap((s) => (s.status === 'WAITING' && s.wait !== null && s.wait.settledAt === null ? [s.wait] : []));
}
