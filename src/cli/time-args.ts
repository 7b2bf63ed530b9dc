/**
 * Times on the command line: an ISO-8601 time (2024-05-01, 2024-05-01T12:00:00Z) or a duration back from
 * now (90s, 15m, 2h, 1d, 1w), as in `aries list --since 2h`; and plain durations in the same units
 * (`aries retention set --finished 30d`, a rate limit's period in `100/1m`).
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

/** A positive duration (90s, 15m, 2h, 1d, 1w) in milliseconds; undefined when not given. */
export function parseDurationArg(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = durationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag} must be a duration such as 90s, 15m, 2h, 1d or 1w; got "${value}"`);
  return ms;
}

/** A duration, or `none` (null: remove the setting); undefined when not given. */
export function parseDurationOrNone(value: string | undefined, flag: string): number | null | undefined {
  if (value === 'none') return null;
  if (value === undefined) return undefined;
  const ms = durationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag} must be a duration such as 90s, 15m, 2h, 1d or 1w, or none; got "${value}"`);
  return ms;
}

/** The milliseconds of a positive duration text, or undefined when it is not one. */
export function durationMs(value: string): number | undefined {
  const duration = /^(\d+)([smhdw])$/.exec(value.trim());
  if (!duration) return undefined;
  const ms = Number(duration[1]) * UNIT_MS[duration[2]!]!;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
