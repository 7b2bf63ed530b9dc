/**
 * ARIES analysis for one execution, bounded by its last checkpoint:
 *
 *   analysis  read the newest checkpoint that verifies (aries.recovery_checkpoint skips and records a corrupt
 *             one) and the journal after it — never the history before it; verify every record of that tail
 *             (checksum, the prev-LSN chain from the checkpoint, and that it ends at executions.last_lsn), and
 *             find the steps in flight;
 *   redo      as the workflow function reaches each step key, return the outcome recorded under that key
 *             instead of running the step: records come from the execution's materialized steps, a page of
 *             positions per read, each completion checked against its own journal record (checksum, bound to
 *             the step and its attempt) before it is handed to the workflow;
 *   undo      the compensations of completed steps, run by the execution runner (compensation-runner.ts).
 *
 * Records are found by step key, never by the position a call happens to take: parallel branches complete
 * in any order, so the order calls reach the engine on replay is not the order they reached it first. The
 * position stays for ordering, the checkpoint cadence and display. Pages are read in position order, as
 * far as the key asked for (a sequential workflow reads each page once, when it gets there); a key no page
 * holds is a step the journal never saw, known only once every page up to the frontier (the highest
 * position of any steps row) is read.
 *
 * A record that fails verification is never replayed: JournalCorruptError names its LSN, and the runner
 * fails the execution with a data fault, rolled back to a checkpoint before that record.
 */
import { decodePayload, decodeStoredError, type PayloadCodec } from '../../core/payload-codec.js';
import type { StoredError } from '../../core/stored-error.js';
import type { Queryable } from '../../db/database.js';
import { recoveryCheckpoint, type RecoveryCheckpoint } from '../../db/journal.js';
import { readStepRecords, stepFrontier, type StepRecordRow } from '../../db/steps.js';
import type { CompensationStatus, JournalRecord } from '../../db/rows.js';
import { readJournal } from '../../db/journal.js';
import type { StepKind } from '../../db/steps.js';
import { JournalCorruptError } from '../../errors.js';

export type RecordedOutcome =
  | {
      kind: 'completed';
      output: unknown;
      /** The LSN of its completion: compensations run in reverse of this order. */
      lsn: number;
      compensation: CompensationStatus | null;
    }
  | { kind: 'failed'; error: StoredError }
  /** A wait cancelled (it lost a race, or the run that began it ended): it never settles. */
  | { kind: 'cancelled' };

/** What the journal holds for one step key. */
export interface StepRecord {
  stepKey: string;
  seq: number;
  kind: StepKind;
  status: StepRecordRow['status'];
  attempt: number;
  /** Undefined while the step has none: started (in flight), waiting for a retry, rolled back, an open wait. */
  outcome: RecordedOutcome | undefined;
  /** A wait's: the LSN of the record that settled it. Replay settles waits in this order. */
  waitLsn: number | undefined;
}

/** What recovery read, in rows: the evidence that it is bounded by the checkpoint. */
export interface ReplayStats {
  checkpointsRead: number;
  journalRecordsRead: number;
  stepOutcomesRead: number;
}

export interface ReplayLog {
  /** False on an execution's first run: nothing is recorded, nothing is read. */
  readonly hasHistory: boolean;
  /** The highest position any step of the execution holds (-1: none): new steps are placed after it. */
  readonly frontier: number;
  /** The record under `key`, or undefined when the journal never saw it; throws for a corrupt completion. */
  recordOf(key: string): Promise<StepRecord | undefined>;
  /**
   * The keys the code must reach again: every recorded step but those voided by a rollback. Reads every
   * page not read yet.
   */
  obligedKeys(): Promise<ReadonlySet<string>>;
  /** Step keys started after the checkpoint with no outcome: the steps in flight when a worker died. */
  readonly inFlight: ReadonlySet<string>;
  readonly checkpoint: RecoveryCheckpoint | undefined;
  readonly stats: ReplayStats;
}

export const OUTCOME_PAGE = 256;

export function emptyReplayLog(): ReplayLog {
  const none: ReadonlySet<string> = new Set();
  return {
    hasHistory: false,
    frontier: -1,
    recordOf: () => Promise.resolve(undefined),
    obligedKeys: () => Promise.resolve(none),
    inFlight: none,
    checkpoint: undefined,
    stats: { checkpointsRead: 0, journalRecordsRead: 0, stepOutcomesRead: 0 },
  };
}

function corrupt(executionId: string, lsn: number, what: string, problem: string): JournalCorruptError {
  return new JournalCorruptError(`journal record ${lsn} (${what}) of execution ${executionId} ${problem}; it will not be replayed`, {
    executionId,
    lsn,
  });
}

/** Verifies the journal tail after the checkpoint at `fromLsn` (null: the whole journal). */
export function verifyTail(executionId: string, tail: readonly JournalRecord[], fromLsn: number | null): Set<string> {
  const inFlight = new Set<string>();
  let prev = fromLsn;
  for (const r of tail) {
    if (!r.checksumOk) {
      throw corrupt(executionId, r.lsn, `${r.kind}${r.stepKey ? ` of step "${r.stepKey}"` : ''}`, 'does not match its checksum');
    }
    if (r.prevLsn !== prev) {
      throw new JournalCorruptError(
        `journal of execution ${executionId} is broken at record ${r.lsn}: it follows ${r.prevLsn ?? 'nothing'}, ` +
          `but the record before it is ${prev ?? 'nothing'} (a record is missing or was moved)`,
        { executionId, lsn: r.lsn },
      );
    }
    prev = r.lsn;
    if (r.stepKey === null) continue;
    if (r.kind === 'step_started') inFlight.add(r.stepKey);
    else if (r.kind.startsWith('step_')) inFlight.delete(r.stepKey);
  }
  const last = tail.at(-1);
  if (last && last.executionLastLsn !== null && last.lsn !== last.executionLastLsn) {
    throw new JournalCorruptError(
      `journal of execution ${executionId} ends at record ${last.lsn}, but the execution's last record is ` +
        `${last.executionLastLsn} (records at its end are missing)`,
      { executionId, lsn: last.lsn },
    );
  }
  return inFlight;
}

/** A steps row as replay uses it; a completion that fails its check becomes the error to throw on reaching it. */
function toRecord(executionId: string, r: StepRecordRow): StepRecord | JournalCorruptError {
  const waitLsn = r.wait_lsn === null || r.wait_lsn === undefined ? undefined : Number(r.wait_lsn);
  const base = { stepKey: r.step_key, seq: r.seq, kind: r.kind, status: r.status, attempt: r.attempt, waitLsn };
  if (r.status === 'CANCELLED' && waitLsn !== undefined) return { ...base, outcome: { kind: 'cancelled' } };
  if (r.status === 'FAILED') {
    return { ...base, outcome: { kind: 'failed', error: r.error ?? { name: 'Error', message: 'unknown error' } } };
  }
  if (r.status !== 'COMPLETED') return { ...base, outcome: undefined };
  const lsn = Number(r.output_lsn);
  if (!r.record_ok) {
    const problem = r.record_found ? 'does not match its checksum (or belongs to another step)' : 'is missing';
    return corrupt(executionId, lsn, `step_completed of step "${r.step_key}"`, problem);
  }
  return {
    ...base,
    outcome: { kind: 'completed', output: r.output_is_null ? undefined : r.output, lsn, compensation: r.compensation_status },
  };
}

/**
 * A record's output or error as the workflow sees it: decoded by the codec. A payload that cannot be
 * decoded (no codec, an unknown key) is the error thrown on reaching the step, as a corrupt record is.
 */
async function decodeRecord(executionId: string, record: StepRecord | JournalCorruptError, codec: PayloadCodec | undefined): Promise<StepRecord | Error> {
  if (record instanceof Error || record.outcome === undefined || record.outcome.kind === 'cancelled') return record;
  const what = `the recorded outcome of step "${record.stepKey}" of execution ${executionId}`;
  try {
    if (record.outcome.kind === 'failed') {
      return { ...record, outcome: { kind: 'failed', error: await decodeStoredError(record.outcome.error, what, codec, executionId) } };
    }
    const output = await decodePayload(record.outcome.output, what, codec, { kind: 'stepOutput', executionId });
    return { ...record, outcome: { ...record.outcome, output } };
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export async function analyzeExecution(db: Queryable, executionId: string, codec?: PayloadCodec): Promise<ReplayLog> {
  const checkpoint = await recoveryCheckpoint(db, executionId);
  const tail = await readJournal(db, executionId, checkpoint?.lsn ?? null);
  const inFlight = verifyTail(executionId, tail, checkpoint?.lsn ?? null);
  const frontier = await stepFrontier(db, executionId);
  const stats: ReplayStats = { checkpointsRead: checkpoint ? 1 : 0, journalRecordsRead: tail.length, stepOutcomesRead: 0 };

  const byKey = new Map<string, StepRecord | Error>();
  const obliged = new Set<string>();
  const pageCount = frontier < 0 ? 0 : Math.floor(frontier / OUTCOME_PAGE) + 1;
  let pagesRead = 0;
  let reading: Promise<void> | undefined;

  /** Reads the next page; callers arriving meanwhile share the read. A failed read is tried again by the next. */
  const readNextPage = (): Promise<void> => {
    reading ??= (async () => {
      const from = pagesRead * OUTCOME_PAGE;
      const rows = await readStepRecords(db, executionId, from, from + OUTCOME_PAGE);
      for (const row of rows) {
        if (row.status === 'COMPLETED' || row.status === 'FAILED') stats.stepOutcomesRead++;
        byKey.set(row.step_key, await decodeRecord(executionId, toRecord(executionId, row), codec));
        if (row.status !== 'ROLLED_BACK') obliged.add(row.step_key);
      }
      pagesRead++;
    })().finally(() => (reading = undefined));
    return reading;
  };

  return {
    hasHistory: true,
    frontier,
    inFlight,
    checkpoint,
    stats,
    async recordOf(key) {
      for (;;) {
        const found = byKey.get(key);
        if (found instanceof Error) throw found;
        if (found) return found;
        if (pagesRead >= pageCount) return undefined;
        await readNextPage();
      }
    },
    async obligedKeys() {
      while (pagesRead < pageCount) await readNextPage();
      return obliged;
    },
  };
}
