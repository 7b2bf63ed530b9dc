/**
 * Times on the command line: an ISO-8601 time (2024-05-01, 2024-05-01T12:00:00Z) or a duration back from
 * now (90s, 15m, 2h, 1d, 1w), as in `aries list --since 2h`.
 */
import { UsageError } from './cli-error.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseTimeArg(value: string | undefined, flag: string, now: Date = new Date()): Date | undefined {
  if (value === undefined) return undefined;
  const duration = /^(\d+)([smhdw])$/.exec(value.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]!]!);
  const date = /^\d{4}-\d\d-\d\d/.test(value) ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new UsageError(`--${flag} must be an ISO-8601 time (2024-05-01T12:00:00Z) or a duration back from now (15m, 2h, 1d); got "${value}"`);
  }
  return date;
}
