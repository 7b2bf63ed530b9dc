/**
 * The journal and its checkpoints: reading the tail recovery analyses, pages for operators, and the newest
 * checkpoint that verifies.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { Queryable } from './database.js';
import { type JournalRecord, type JournalRow, toDate, toJournalRecord } from './rows.js';
import { translated } from './sqlstate-errors.js';

export async function readJournal(db: Queryable, executionId: string, afterLsn: number | null = null): Promise<JournalRecord[]> {
  const rows = await translated(
    db.query<JournalRow>('SELECT * FROM aries.read_journal(p_execution_id => $1, p_after_lsn => $2)', [executionId, afterLsn]),
  );
  return rows.map(toJournalRecord);
}

// ---- reads for clients, the CLI and tests ------------------------------------------------------------

export interface RecoveryCheckpoint {
  id: string;
  lsn: number;
  state: unknown;
}

/** The newest checkpoint of an execution that verifies, or undefined (recovery starts from the start). */
export async function recoveryCheckpoint(db: Queryable, executionId: string): Promise<RecoveryCheckpoint | undefined> {
  const [row] = await translated(
    db.query<{ checkpoint_id: string; lsn: number | string; state_data: unknown }>(
      'SELECT * FROM aries.recovery_checkpoint(p_execution_id => $1)',
      [executionId],
    ),
  );
  return row ? { id: row.checkpoint_id, lsn: Number(row.lsn), state: row.state_data } : undefined;
}

/**
 * One page of an execution's journal (at most `limit` records after `afterLsn`); payloads whose JSON
 * exceeds `truncateAboveBytes` come back as a preview marker (aries.payload_preview).
 */
export async function readJournalPage(
  db: Queryable,
  executionId: string,
  // A null limit reads to the end (LIMIT NULL is LIMIT ALL).
  options: { afterLsn?: number | null; limit: number | null; truncateAboveBytes?: number | null },
): Promise<JournalRecord[]> {
  const rows = await translated(
    db.query<JournalRow>(
      `SELECT * FROM aries.read_journal_page(p_execution_id => $1, p_after_lsn => $2, p_limit => $3,
                                             p_truncate_above => $4)`,
      [executionId, options.afterLsn ?? null, options.limit, options.truncateAboveBytes ?? null],
    ),
  );
  return rows.map(toJournalRecord);
}

export interface Checkpoint {
  id: string;
  lsn: number;
  at: Date;
  /** Its checksum matches and it lies within the execution's journal: recovery may start from it. */
  valid: boolean;
  stepProgress: unknown;
}

export async function listCheckpoints(db: Queryable, executionId: string): Promise<Checkpoint[]> {
  const rows = await db.query<{ checkpoint_id: string; lsn: number | string; checkpoint_time: Date | string; valid: boolean; step_progress: unknown }>(
    `SELECT k.checkpoint_id, k.lsn, k.checkpoint_time, k.step_progress,
            k.checksum = aries.checkpoint_checksum(k.execution_id, k.lsn, k.state_data)
              AND k.lsn <= coalesce(e.last_lsn, 0) AS valid
       FROM aries.checkpoints k JOIN aries.executions e ON e.id = k.execution_id
      WHERE k.execution_id = $1 ORDER BY k.lsn DESC LIMIT 200`,
    [executionId],
  );
  return rows.map((r) => ({
    id: r.checkpoint_id,
    lsn: Number(r.lsn),
    at: toDate(r.checkpoint_time),
    valid: r.valid,
    stepProgress: r.step_progress,
  }));
}
