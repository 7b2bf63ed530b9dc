/**
 * ctx.waitForSignal: a wait for the next signal of a name in the execution's mailbox (aries.signals). A
 * signal sent before the wait is kept there; the database hands each to exactly one wait, oldest first,
 * when the wait settles (aries.await_waits), and journals the consumption as the wait's output. With
 * timeoutMs the wait fails with WaitTimeoutError when nothing came by then (database clock). Without a
 * key, the n-th wait for a name in a run is keyed `signal:<name>:<n>`.
 */
import { InvalidInputError } from '../../../errors.js';
import { beginWait } from '../../../db/waits.js';
import type { WaitPrimitive } from './primitive.js';

export interface SignalWaitSpec {
  name: string;
  timeoutMs: number | undefined;
}

export const signalWaitPrimitive: WaitPrimitive<SignalWaitSpec> = {
  kind: 'signal',
  call: 'ctx.waitForSignal',
  validate(key, spec) {
    if (typeof spec.name !== 'string' || spec.name === '') {
      throw new InvalidInputError(`ctx.waitForSignal needs a non-empty string signal name, got ${JSON.stringify(spec.name) ?? String(spec.name)}`);
    }
    if (typeof key !== 'string' || key === '') throw new InvalidInputError(`ctx.waitForSignal("${spec.name}"): key must be a non-empty string`);
    checkTimeout(`ctx.waitForSignal("${spec.name}")`, spec.timeoutMs);
  },
  async begin(run, key, seq, spec) {
    await beginWait(run.deps.db, run.deps.lease, { seq, stepKey: key, kind: 'signal', signalName: spec.name, delayMs: spec.timeoutMs });
  },
};

/** A wait's timeoutMs: absent, or a finite number of milliseconds >= 0. */
export function checkTimeout(call: string, timeoutMs: unknown): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new InvalidInputError(`${call}: timeoutMs must be a finite number of milliseconds >= 0, got ${String(timeoutMs)}`);
  }
}
