/**
 * A schedule's slots, computed with croner (cron expressions with an optional seconds field, read in an
 * IANA timezone): the first slot after a time, and the plan for a due schedule — which of the slots that
 * came due start, which are skipped or missed — under its misfire policy. Pure: the worker gives it the
 * database clock read in the firing transaction, never its own.
 *
 * Misfire (a slot is on time when it starts within maxLatenessMs of its slot time):
 *   skip  of the slots that came due, only the latest may start, and only if on time; the others skipped
 *   once  the latest due slot starts even if late (one catch-up run); the earlier ones skipped
 *   all   every due slot that is on time starts, in slot order; the older ones missed
 * At most MAX_SLOTS_PER_FIRING slots are looked at per firing; when more came due, the plan is `capped`
 * and the rest are handled by the next firing (for skip and once, nothing starts while a later slot is
 * known to be due).
 */
import { Cron } from 'croner';

export const MISFIRE_POLICIES = ['skip', 'once', 'all'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** Slots one firing looks at, at most: a per-second schedule after a day down takes a few firings. */
export const MAX_SLOTS_PER_FIRING = 10_000;

/** Where next_fire_at goes for a cron expression that has no further slot (a year in the past, say). */
export const NO_MORE_SLOTS = new Date('9999-12-31T23:59:59.000Z');

export interface SlotRange {
  from: Date;
  through: Date;
  count: number;
}

export interface SlotPlan {
  /** Slots that start an execution, in order. */
  start: Date[];
  skipped: SlotRange | null;
  missed: SlotRange | null;
  /** The first slot after the ones handled here. */
  nextFireAt: Date;
  /** More slots than MAX_SLOTS_PER_FIRING were due: fire again at once. */
  capped: boolean;
}

export interface SlotRule {
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  maxLatenessMs: number;
}

/** Why a timezone is not usable, or undefined when it is an IANA name this runtime knows. */
export function timezoneProblem(timezone: unknown): string | undefined {
  if (typeof timezone !== 'string' || timezone === '') return `timezone must be an IANA name such as "Europe/Berlin", got ${JSON.stringify(timezone) ?? String(timezone)}`;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return undefined;
  } catch {
    return `unknown timezone "${timezone}": use an IANA name such as "Europe/Berlin" or "UTC"`;
  }
}

/** Why a cron expression is not usable (croner's reason), or undefined when it is. */
export function cronProblem(cron: unknown): string | undefined {
  if (typeof cron !== 'string' || cron.trim() === '') return `cron must be a non-empty string such as "0 2 * * *", got ${JSON.stringify(cron) ?? String(cron)}`;
  try {
    new Cron(cron, { paused: true });
    return undefined;
  } catch (err) {
    return `invalid cron expression "${cron}": ${err instanceof Error ? err.message : String(err)}`;
  }
}

function cronOf(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, paused: true });
}

/** The first slot strictly after `after` (NO_MORE_SLOTS when there is none). */
export function nextSlotAfter(cron: string, timezone: string, after: Date): Date {
  return cronOf(cron, timezone).nextRun(after) ?? NO_MORE_SLOTS;
}

/** The plan for a schedule whose first unhandled slot is `nextFireAt`, judged at `now` (database clock). */
export function planSlots(rule: SlotRule, nextFireAt: Date, now: Date, cap = MAX_SLOTS_PER_FIRING): SlotPlan {
  const job = cronOf(rule.cron, rule.timezone);
  const due: Date[] = [];
  let next: Date | null = nextFireAt;
  while (next !== null && next.getTime() <= now.getTime() && due.length < cap) {
    due.push(next);
    next = job.nextRun(next);
  }
  const capped = next !== null && next.getTime() <= now.getTime();
  const nextAt = next ?? NO_MORE_SLOTS;
  const onTime = (slot: Date) => now.getTime() - slot.getTime() <= rule.maxLatenessMs;
  const latest = due[due.length - 1];
  if (latest === undefined) return { start: [], skipped: null, missed: null, nextFireAt: nextAt, capped };
  if (rule.misfire === 'all') {
    const firstOnTime = due.findIndex(onTime);
    const cut = firstOnTime < 0 ? due.length : firstOnTime;
    return { start: due.slice(cut), skipped: null, missed: range(due.slice(0, cut)), nextFireAt: nextAt, capped };
  }
  const startsLatest = !capped && (rule.misfire === 'once' || onTime(latest));
  return {
    start: startsLatest ? [latest] : [],
    skipped: range(startsLatest ? due.slice(0, -1) : due),
    missed: null,
    nextFireAt: nextAt,
    capped,
  };
}

function range(slots: Date[]): SlotRange | null {
  const from = slots[0];
  const through = slots[slots.length - 1];
  return from === undefined || through === undefined ? null : { from, through, count: slots.length };
}
