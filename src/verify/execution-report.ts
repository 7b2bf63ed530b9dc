/**
 * What a verify worker process reports about the one execution it ran: its final status and error, its
 * journal, its steps and its unrecovered failures, read through the engine after the worker stopped. The
 * parent process judges recoveries from this alone, so it never opens a store a child holds (an embedded
 * data dir admits one process), and the report is plain JSON because it crosses a pipe.
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { StoredError } from '../core/stored-error.js';
import type { Engine } from '../sdk/engine.js';

export interface ReportedRecord {
  lsn: number;
  prevLsn: number | null;
  kind: string;
  stepKey: string | null;
  attempt: number | null;
  checksumOk: boolean;
}

export interface ReportedStep {
  key: string;
  status: string;
  attempt: number;
  compensationStatus: string | null;
}

export interface ReportedFailure {
  type: string;
  stepKey: string | null;
  errorClass: string | null;
  message: string;
}

export interface ExecutionReport {
  executionId: string;
  status: ExecutionStatus;
  /** The error that ended it (FAILED, COMPENSATED), as stored. */
  error: StoredError | null;
  /** The journal's own record of its newest LSN: the journal must end there. */
  lastLsn: number | null;
  journal: ReportedRecord[];
  steps: ReportedStep[];
  unrecoveredFailures: ReportedFailure[];
}

/** Statuses an execution rests in without a worker; FAILED can be recovered by an operator. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['COMPLETED', 'COMPENSATED', 'FAILED']);

export async function readExecutionReport(engine: Engine, executionId: string): Promise<ExecutionReport> {
  const detail = await engine.admin.getExecution(executionId);
  if (!detail) throw new Error(`execution ${executionId} is missing from the store`);
  const { records: journal } = await engine.admin.readJournal(executionId);
  const { failures } = await engine.admin.listFailures({ executionId, unrecoveredOnly: true, limit: 100 });
  return {
    executionId,
    status: detail.execution.status,
    error: detail.execution.error,
    lastLsn: journal.at(-1)?.executionLastLsn ?? null,
    journal: journal.map((r) => ({
      lsn: r.lsn,
      prevLsn: r.prevLsn,
      kind: r.kind,
      stepKey: r.stepKey,
      attempt: r.attempt,
      checksumOk: r.checksumOk,
    })),
    steps: detail.steps.map((s) => ({ key: s.key, status: s.status, attempt: s.attempt, compensationStatus: s.compensationStatus })),
    unrecoveredFailures: failures.map((f) => ({ type: f.type, stepKey: f.stepKey, errorClass: f.errorClass, message: f.message })),
  };
}
