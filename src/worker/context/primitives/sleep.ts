/**
 * ctx.sleep / ctx.sleepUntil: a wait that resolves by itself at a time the database computes when the
 * sleep is first reached (now + ms, on its clock; or the given time). Meanwhile the execution is SLEEPING
 * with no lease owner; it is claimed again when the time has come.
 */
import { InvalidInputError } from '../../../errors.js';
import { beginWait } from '../../../db/waits.js';
import type { WaitPrimitive } from './primitive.js';

export type SleepSpec = { ms: number } | { until: Date };

export const sleepPrimitive: WaitPrimitive<SleepSpec> = {
  kind: 'sleep',
  call: 'ctx.sleep',
  validate(key, spec) {
    if (typeof key !== 'string' || key === '') throw new InvalidInputError('ctx.sleep needs a non-empty string key');
    if ('ms' in spec) {
      if (typeof spec.ms !== 'number' || !Number.isFinite(spec.ms) || spec.ms < 0) {
        throw new InvalidInputError(`ctx.sleep("${key}"): the duration must be a finite number of milliseconds >= 0, got ${String(spec.ms)}`);
      }
    } else if (!(spec.until instanceof Date) || Number.isNaN(spec.until.getTime())) {
      throw new InvalidInputError(`ctx.sleepUntil("${key}"): the time must be a valid Date, got ${String(spec.until)}`);
    }
  },
  async begin(run, key, seq, spec) {
    await beginWait(run.deps.db, run.deps.lease, {
      seq,
      stepKey: key,
      kind: 'sleep',
      ...('ms' in spec ? { delayMs: spec.ms } : { until: spec.until }),
    });
  },
};
