/**
 * ARIES analysis for one execution: read its journal, verify every record (checksum, and the prev-LSN
 * chain so a removed record is noticed too), and index the outcome of each step position, so replay
 * returns recorded outputs instead of running completed steps again. A record that fails verification is
 * never replayed: the execution fails with a data fault instead.
 */
import { JournalCorruptError } from '../errors.js';
import type { JournalRecord } from '../db/rows.js';
import type { StoredError } from '../core/stored-error.js';

export type RecordedOutcome =
  | { kind: 'completed'; stepKey: string; attempt: number; output: unknown }
  | { kind: 'failed'; stepKey: string; attempt: number; error: StoredError };

export interface ReplayLog {
  /** The final outcome recorded at each step position (seq). */
  outcomes: Map<number, RecordedOutcome>;
  /** Step keys that were started but have no outcome: the step in flight when a worker died. */
  inFlight: Set<string>;
  records: number;
}

export function analyzeJournal(executionId: string, journal: JournalRecord[]): ReplayLog {
  const outcomes = new Map<number, RecordedOutcome>();
  const inFlight = new Set<string>();
  let prev: number | null = null;
  for (const r of journal) {
    if (!r.checksumOk) {
      throw new JournalCorruptError(
        `journal record ${r.lsn} (${r.kind}${r.stepKey ? ` of step "${r.stepKey}"` : ''}) of execution ${executionId} ` +
          'does not match its checksum; it will not be replayed',
        { executionId, lsn: r.lsn },
      );
    }
    if (r.prevLsn !== prev) {
      throw new JournalCorruptError(
        `journal of execution ${executionId} is broken at record ${r.lsn}: it follows ${r.prevLsn ?? 'nothing'}, ` +
          `but the record before it is ${prev ?? 'nothing'} (a record is missing or was moved)`,
        { executionId, lsn: r.lsn },
      );
    }
    prev = r.lsn;
    if (r.seq === null || r.stepKey === null || r.attempt === null) continue;
    if (r.kind === 'step_started') {
      inFlight.add(r.stepKey);
    } else if (r.kind === 'step_completed') {
      inFlight.delete(r.stepKey);
      outcomes.set(r.seq, { kind: 'completed', stepKey: r.stepKey, attempt: r.attempt, output: r.payload });
    } else if (r.kind === 'step_failed') {
      inFlight.delete(r.stepKey);
      outcomes.set(r.seq, { kind: 'failed', stepKey: r.stepKey, attempt: r.attempt, error: r.payload as StoredError });
    }
  }
  const last = journal.at(-1);
  if (last && last.executionLastLsn !== null && last.lsn !== last.executionLastLsn) {
    throw new JournalCorruptError(
      `journal of execution ${executionId} ends at record ${last.lsn}, but the execution's last record is ` +
        `${last.executionLastLsn} (records at its end are missing)`,
      { executionId, lsn: last.lsn },
    );
  }
  return { outcomes, inFlight, records: journal.length };
}
