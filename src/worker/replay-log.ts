/**
 * ARIES analysis for one execution, bounded by its last checkpoint:
 *
 *   analysis  read the newest checkpoint that verifies (aries.recovery_checkpoint skips and records a corrupt
 *             one) and the journal after it — never the history before it; verify every record of that tail
 *             (checksum, the prev-LSN chain from the checkpoint, and that it ends at executions.last_lsn), and
 *             find the steps in flight;
 *   redo      as the workflow function reaches each position, return the outcome recorded there instead of
 *             running the step: outputs come from the execution's materialized steps, a page of positions
 *             per read, each checked against its own journal record (checksum, bound to the step and its
 *             attempt) before it is handed to the workflow;
 *   undo      the compensations of completed steps, run by the execution runner (compensation-runner.ts).
 *
 * A record that fails verification is never replayed: JournalCorruptError names its LSN, and the runner
 * fails the execution with a data fault, rolled back to a checkpoint before that record.
 */
import type { StoredError } from '../core/stored-error.js';
import type { Queryable } from '../db/database.js';
import { readStepRecords, recoveryCheckpoint, type RecoveryCheckpoint } from '../db/recovery-functions.js';
import type { CompensationStatus, JournalRecord } from '../db/rows.js';
import { readJournal } from '../db/sql-functions.js';
import { JournalCorruptError } from '../errors.js';

export type RecordedOutcome =
  | {
      kind: 'completed';
      stepKey: string;
      attempt: number;
      output: unknown;
      /** The LSN of its completion: compensations run in reverse of this order. */
      lsn: number;
      compensation: CompensationStatus | null;
    }
  | { kind: 'failed'; stepKey: string; attempt: number; error: StoredError };

/** What recovery read, in rows: the evidence that it is bounded by the checkpoint. */
export interface ReplayStats {
  checkpointsRead: number;
  journalRecordsRead: number;
  stepOutcomesRead: number;
}

export interface ReplayLog {
  /** False on an execution's first run: nothing is recorded, nothing is read. */
  readonly hasHistory: boolean;
  /** The outcome recorded at position seq, or undefined when the step must run. */
  outcomeAt(seq: number): Promise<RecordedOutcome | undefined>;
  /** Step keys started after the checkpoint with no outcome: the steps in flight when a worker died. */
  readonly inFlight: ReadonlySet<string>;
  readonly checkpoint: RecoveryCheckpoint | undefined;
  readonly stats: ReplayStats;
}

export const OUTCOME_PAGE = 256;

export function emptyReplayLog(): ReplayLog {
  return {
    hasHistory: false,
    outcomeAt: () => Promise.resolve(undefined),
    inFlight: new Set(),
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

export async function analyzeExecution(db: Queryable, executionId: string): Promise<ReplayLog> {
  const checkpoint = await recoveryCheckpoint(db, executionId);
  const tail = await readJournal(db, executionId, checkpoint?.lsn ?? null);
  const inFlight = verifyTail(executionId, tail, checkpoint?.lsn ?? null);
  const stats: ReplayStats = { checkpointsRead: checkpoint ? 1 : 0, journalRecordsRead: tail.length, stepOutcomesRead: 0 };
  const pages = new Map<number, Promise<Map<number, RecordedOutcome | JournalCorruptError>>>();

  const loadPage = async (page: number) => {
    const rows = (await readStepRecords(db, executionId, page * OUTCOME_PAGE, (page + 1) * OUTCOME_PAGE)).filter(
      (r) => r.status === 'COMPLETED' || r.status === 'FAILED',
    );
    stats.stepOutcomesRead += rows.length;
    const outcomes = new Map<number, RecordedOutcome | JournalCorruptError>();
    for (const r of rows) {
      if (r.status === 'FAILED') {
        outcomes.set(r.seq, { kind: 'failed', stepKey: r.step_key, attempt: r.attempt, error: r.error ?? { name: 'Error', message: 'unknown error' } });
      } else if (!r.record_ok) {
        const lsn = Number(r.output_lsn);
        const problem = r.record_found ? 'does not match its checksum (or belongs to another step)' : 'is missing';
        outcomes.set(r.seq, corrupt(executionId, lsn, `step_completed of step "${r.step_key}"`, problem));
      } else {
        outcomes.set(r.seq, {
          kind: 'completed',
          stepKey: r.step_key,
          attempt: r.attempt,
          output: r.output_is_null ? undefined : r.output,
          lsn: Number(r.output_lsn),
          compensation: r.compensation_status,
        });
      }
    }
    return outcomes;
  };

  return {
    hasHistory: true,
    inFlight,
    checkpoint,
    stats,
    async outcomeAt(seq) {
      const page = Math.floor(seq / OUTCOME_PAGE);
      let loaded = pages.get(page);
      if (!loaded) {
        loaded = loadPage(page);
        pages.set(page, loaded);
        loaded.catch(() => pages.delete(page)); // a failed read is tried again by the next caller
      }
      const outcome = (await loaded).get(seq);
      if (outcome instanceof JournalCorruptError) throw outcome;
      return outcome;
    },
  };
}
