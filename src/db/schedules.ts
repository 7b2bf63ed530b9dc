/**
 * Schedules: one typed wrapper per SQL function of sql/schema/schedules/, called with named arguments,
 * errors coming back as the public classes (ScheduleNotFoundError, UnknownWorkflowError,
 * InvalidInputError). Rows are converted to the domain objects (Schedule, ScheduleSlot) here, once.
 */
import type { MisfirePolicy, SlotPlan } from '../core/schedule-slots.js';
import type { Queryable } from './database.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

export type ScheduleSlotStatus = 'started' | 'skipped' | 'missed' | 'manual';

/** One record of what a schedule did: a started or manual run, or a compact range of skipped or missed slots. */
export interface ScheduleSlot {
  id: number;
  /** The slot (a range's first); a manual run's is when it was triggered. */
  slotAt: Date;
  /** A range's last slot (null: one slot). */
  throughAt: Date | null;
  /** Slots this record stands for (1 unless a range). */
  count: number;
  status: ScheduleSlotStatus;
  executionId: string | null;
  /** The execution's status now (null when none, or it was deleted). */
  executionStatus: string | null;
  /** A built-in schedule's action count (auto_recover_failures: executions recovered). */
  actionResult: number | null;
  recordedAt: Date;
}

export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  /** What it starts (null for a built-in schedule, which runs `action`). */
  workflow: string | null;
  /** null: the most recently registered version when each slot starts. */
  version: string | null;
  input: unknown;
  /** A built-in schedule's SQL action (auto_recover_failures); null for a workflow schedule. */
  action: string | null;
  misfire: MisfirePolicy;
  maxLatenessMs: number;
  paused: boolean;
  /** Its first slot not yet handled. */
  nextFireAt: Date;
  /** The newest slot it handled (started, skipped or missed). */
  lastSlotAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Its newest slot records, newest first. */
  recentSlots: ScheduleSlot[];
}

export interface ScheduleDefinition {
  name: string;
  cron: string;
  timezone: string;
  workflow: string;
  version: string | null;
  inputJson: string | null;
  misfire: MisfirePolicy;
  maxLatenessMs: number;
  /** The first slot after now (database clock), computed by the caller with croner. */
  nextFireAt: Date;
}

type Stamp = Date | string;

interface SlotRow {
  id: number | string;
  slot_at: Stamp;
  through_at: Stamp | null;
  slot_count: number;
  status: ScheduleSlotStatus;
  execution_id: string | null;
  execution_status: string | null;
  action_result: number | string | null;
  recorded_at: Stamp;
}

interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  workflow_name: string | null;
  workflow_version: string | null;
  input: unknown;
  sql_action: string | null;
  misfire: MisfirePolicy;
  max_lateness_ms: number | string;
  paused: boolean;
  next_fire_at: Stamp;
  last_slot_at: Stamp | null;
  created_at: Stamp;
  updated_at: Stamp;
  recent_slots: SlotRow[] | string;
}

const orNull = (v: Stamp | null): Date | null => (v === null ? null : toDate(v));

function toSlot(r: SlotRow): ScheduleSlot {
  return {
    id: Number(r.id),
    slotAt: toDate(r.slot_at),
    throughAt: orNull(r.through_at),
    count: Number(r.slot_count),
    status: r.status,
    executionId: r.execution_id,
    executionStatus: r.execution_status,
    actionResult: r.action_result === null ? null : Number(r.action_result),
    recordedAt: toDate(r.recorded_at),
  };
}

function toSchedule(r: ScheduleRow): Schedule {
  const recent = typeof r.recent_slots === 'string' ? (JSON.parse(r.recent_slots) as SlotRow[]) : r.recent_slots;
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    workflow: r.workflow_name,
    version: r.workflow_version,
    input: r.input,
    action: r.sql_action,
    misfire: r.misfire,
    maxLatenessMs: Number(r.max_lateness_ms),
    paused: r.paused,
    nextFireAt: toDate(r.next_fire_at),
    lastSlotAt: orNull(r.last_slot_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    recentSlots: recent.map(toSlot),
  };
}

/** The database clock now: what slots are computed from. */
export async function databaseNow(db: Queryable): Promise<Date> {
  const [row] = await db.query<{ now: Stamp }>('SELECT aries.now() AS now');
  return toDate(row!.now);
}

/** Creates or changes a schedule (aries.upsert_schedule). */
export async function upsertSchedule(db: Queryable, d: ScheduleDefinition): Promise<{ created: boolean; nextFireAt: Date }> {
  const [row] = await translated(
    db.query<{ created: boolean; next_fire_at: Stamp }>(
      `SELECT * FROM aries.upsert_schedule(p_name => $1, p_cron => $2, p_timezone => $3, p_workflow => $4, p_version => $5,
         p_input => $6::jsonb, p_misfire => $7, p_max_lateness_ms => $8, p_next_fire_at => $9)`,
      [d.name, d.cron, d.timezone, d.workflow, d.version, d.inputJson, d.misfire, d.maxLatenessMs, d.nextFireAt],
    ),
  );
  return { created: row!.created, nextFireAt: toDate(row!.next_fire_at) };
}

/** Pauses a schedule; returns whether it was paused already. */
export async function pauseSchedule(db: Queryable, name: string): Promise<boolean> {
  const [row] = await translated(db.query<{ was: boolean }>('SELECT aries.pause_schedule(p_name => $1) AS was', [name]));
  return row!.was;
}

/** Resumes a schedule; returns whether it was paused. */
export async function resumeSchedule(db: Queryable, name: string): Promise<boolean> {
  const [row] = await translated(db.query<{ was: boolean }>('SELECT aries.resume_schedule(p_name => $1) AS was', [name]));
  return row!.was;
}

export async function deleteSchedule(db: Queryable, name: string): Promise<void> {
  await translated(db.query('SELECT aries.delete_schedule(p_name => $1)', [name]));
}

/** One run now (a manual slot): the execution it started, or a built-in action's count. */
export async function triggerSchedule(
  db: Queryable,
  name: string,
): Promise<{ slotId: number; executionId: string | null; actionResult: number | null }> {
  const [row] = await translated(
    db.query<{ slot_id: number | string; execution_id: string | null; action_result: number | string | null }>(
      'SELECT * FROM aries.trigger_schedule(p_name => $1)',
      [name],
    ),
  );
  return {
    slotId: Number(row!.slot_id),
    executionId: row!.execution_id,
    actionResult: row!.action_result === null ? null : Number(row!.action_result),
  };
}

/** Every schedule by name, each with its newest `recent` slot records. */
export async function listSchedules(db: Queryable, recent = 5): Promise<Schedule[]> {
  const rows = await db.query<ScheduleRow>('SELECT * FROM aries.list_schedules(p_recent => $1)', [recent]);
  return rows.map(toSchedule);
}

/** A schedule's newest `limit` slot records, newest first. */
export async function readScheduleSlots(db: Queryable, name: string, limit: number): Promise<ScheduleSlot[]> {
  const rows = await db.query<SlotRow>('SELECT * FROM aries.read_schedule_slots(p_name => $1, p_limit => $2)', [name, limit]);
  return rows.map(toSlot);
}

/** A due schedule, locked by claimDueSchedules until its transaction ends. */
export interface DueSchedule {
  name: string;
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  maxLatenessMs: number;
  nextFireAt: Date;
  action: string | null;
  /** The database clock in the claiming transaction: what its slots are judged on. */
  now: Date;
}

/** Locks up to `limit` due schedules (FOR UPDATE SKIP LOCKED); call inside the firing transaction. */
export async function claimDueSchedules(tx: Queryable, limit: number): Promise<DueSchedule[]> {
  const rows = await tx.query<{
    name: string;
    cron: string;
    timezone: string;
    misfire: MisfirePolicy;
    max_lateness_ms: number | string;
    next_fire_at: Stamp;
    sql_action: string | null;
    db_now: Stamp;
  }>('SELECT * FROM aries.claim_due_schedules(p_limit => $1)', [limit]);
  return rows.map((r) => ({
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    misfire: r.misfire,
    maxLatenessMs: Number(r.max_lateness_ms),
    nextFireAt: toDate(r.next_fire_at),
    action: r.sql_action,
    now: toDate(r.db_now),
  }));
}

export interface FiredSlot {
  slotAt: Date;
  executionId: string | null;
  /** The execution was created here (false: its slot key had started one already). */
  created: boolean;
  actionResult: number | null;
}

/** Records a plan's slots and starts its executions (aries.fire_schedule), in the claiming transaction. */
export async function fireSchedule(tx: Queryable, name: string, plan: SlotPlan): Promise<FiredSlot[]> {
  const rows = await translated(
    tx.query<{ slot_at: Stamp; execution_id: string | null; created: boolean | null; action_result: number | string | null }>(
      `SELECT * FROM aries.fire_schedule(p_name => $1, p_start_slots => $2::timestamptz[],
         p_skipped_from => $3, p_skipped_through => $4, p_skipped_count => $5,
         p_missed_from => $6, p_missed_through => $7, p_missed_count => $8, p_next_fire_at => $9)`,
      [
        name,
        plan.start.map((d) => d.toISOString()),
        plan.skipped?.from ?? null,
        plan.skipped?.through ?? null,
        plan.skipped?.count ?? null,
        plan.missed?.from ?? null,
        plan.missed?.through ?? null,
        plan.missed?.count ?? null,
        plan.nextFireAt,
      ],
    ),
  );
  return rows.map((r) => ({
    slotAt: toDate(r.slot_at),
    executionId: r.execution_id,
    created: r.created === true,
    actionResult: r.action_result === null ? null : Number(r.action_result),
  }));
}

/** Milliseconds until the earliest schedule that is not paused comes due (null: none). */
export async function msUntilNextSchedule(db: Queryable): Promise<number | null> {
  const [row] = await db.query<{ ms: number | string | null }>(
    `SELECT extract(epoch FROM min(next_fire_at) - aries.now()) * 1000 AS ms FROM aries.schedules WHERE NOT paused`,
  );
  return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
}
