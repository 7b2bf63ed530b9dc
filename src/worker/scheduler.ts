/**
 * The scheduler every worker runs: on a timer (schedulerIntervalMs, default 1 s) and at the earliest
 * next_fire_at it knows, it fires the schedules that are due. One firing is ONE transaction: claim due
 * schedules (FOR UPDATE SKIP LOCKED, with the database clock), compute each one's slots with croner
 * (core/schedule-slots.ts) and record them (fire_schedule, which starts their executions). Workers on many
 * machines share the schedules through the row locks, so a slot starts once whatever their number; a
 * worker that dies mid-way rolls back and fires nothing, and the next worker fires the same slots.
 */
import { planSlots } from '../core/schedule-slots.js';
import type { Database } from '../db/database.js';
import { claimDueSchedules, fireSchedule, msUntilNextSchedule, type FiredSlot } from '../db/schedules.js';
import { crashPoint } from './crash-points.js';

export const DEFAULT_SCHEDULER_INTERVAL_MS = 1_000;

/** Schedules locked per firing transaction. */
const CLAIM_LIMIT = 16;
/** Firing transactions per pass, at most (a pass continues while schedules stay due). */
const MAX_FIRINGS_PER_PASS = 64;

export interface SchedulerEvents {
  /** A slot started an execution (created: not already started under its key). */
  onStarted?: (schedule: string, slot: FiredSlot) => void;
  /** A committed firing handled `count` slots of a schedule with this status. */
  onSlots?: (schedule: string, status: 'started' | 'skipped' | 'missed', count: number) => void;
  /** A built-in schedule's action ran in a committed firing. */
  onAction?: (schedule: string, action: string, result: number) => void;
  onError?: (err: unknown) => void;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly intervalMs: number,
    private readonly events: SchedulerEvents = {},
  ) {}

  start(): void {
    this.arm(0);
  }

  /** Looks for due schedules now (unless a pass is running; it re-arms itself). */
  poke(): void {
    if (!this.running) this.arm(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Fires what is due now, then waits the interval or until the earliest next slot, whichever is sooner. */
  private arm(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((err: unknown) => {
          this.events.onError?.(err);
          return this.intervalMs;
        })
        .then((next) => this.arm(next))
        .finally(() => {
          this.running = undefined;
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: firings until nothing is due; returns how long to wait before the next pass. */
  private async pass(): Promise<number> {
    for (let i = 0; i < MAX_FIRINGS_PER_PASS && !this.stopped; i++) {
      if (!(await this.fireDue())) break;
    }
    if (this.stopped) return this.intervalMs;
    const untilNext = await msUntilNextSchedule(this.db);
    // +2 ms: the claim compares on the database clock, so never look early.
    return untilNext === null ? this.intervalMs : Math.min(this.intervalMs, Math.max(0, Math.ceil(untilNext) + 2));
  }

  /** One firing transaction; returns whether another may find more due (a full claim, or a capped plan). */
  async fireDue(): Promise<boolean> {
    const done: Array<() => void> = [];
    const more = await this.db.transaction(async (tx) => {
      const due = await claimDueSchedules(tx, CLAIM_LIMIT);
      let again = due.length === CLAIM_LIMIT;
      for (const s of due) {
        crashPoint('after-schedule-claim', s.name);
        const plan = planSlots(s, s.nextFireAt, s.now);
        again ||= plan.capped;
        const fired = await fireSchedule(tx, s.name, plan);
        const counts = { started: fired.length, skipped: plan.skipped?.count ?? 0, missed: plan.missed?.count ?? 0 };
        for (const [status, count] of Object.entries(counts) as ['started' | 'skipped' | 'missed', number][]) {
          if (count > 0) done.push(() => this.events.onSlots?.(s.name, status, count));
        }
        for (const slot of fired) {
          if (s.action !== null) done.push(() => this.events.onAction?.(s.name, s.action!, slot.actionResult ?? 0));
          else done.push(() => this.events.onStarted?.(s.name, slot));
        }
      }
      return again;
    });
    // Only what committed is reported.
    for (const report of done) report();
    return more;
  }
}
