/**
 * What a verify worker process reports about the one execution it ran: its final status and error, its
 * journal, its steps, its unrecovered failures, its mailbox (each signal with the wait that consumed it)
 * and, the same way, every child execution it started (and theirs), read through the engine after the
 * worker stopped. The parent process judges recoveries from this alone, so it never opens a store a
 * worker process holds (an embedded data dir admits one process), and the report is plain JSON because
 * it crosses a pipe.
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { StoredError } from '../core/stored-error.js';
import type { JournalRecord } from '../db/rows.js';
import type { Engine } from '../sdk/engine.js';

export interface ReportedRecord {
  lsn: number;
  prevLsn: number | null;
  kind: string;
  stepKey: string | null;
  attempt: number | null;
  checksumOk: boolean;
  /** step_waiting: what the wait waits for (sleep, signal, child). */
  waitKind?: string;
  /** execution_suspended: the keys of the waits it was suspended on. */
  suspendedOn?: string[];
}

export interface ReportedStep {
  key: string;
  kind: string;
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

export interface ReportedSignal {
  id: string;
  name: string;
  idempotencyKey: string | null;
  /** The step key of the wait that consumed it; null: still in the mailbox. */
  consumedBy: string | null;
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
  signals: ReportedSignal[];
  /** The executions it started with ctx.child, in the order started, each under its parent's step key. */
  children: ChildReport[];
}

export interface ChildReport extends ExecutionReport {
  stepKey: string;
}

/** Statuses an execution rests in without a worker; FAILED can be recovered by an operator. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['COMPLETED', 'COMPENSATED', 'FAILED']);

function reportedRecord(r: JournalRecord): ReportedRecord {
  const record: ReportedRecord = {
    lsn: r.lsn,
    prevLsn: r.prevLsn,
    kind: r.kind,
    stepKey: r.stepKey,
    attempt: r.attempt,
    checksumOk: r.checksumOk,
  };
  const payload = (typeof r.payload === 'object' && r.payload !== null ? r.payload : {}) as { kind?: unknown; waits?: unknown };
  if (r.kind === 'step_waiting' && typeof payload.kind === 'string') record.waitKind = payload.kind;
  if (r.kind === 'execution_suspended' && Array.isArray(payload.waits)) record.suspendedOn = payload.waits.map(String);
  return record;
}

export async function readExecutionReport(engine: Engine, executionId: string): Promise<ExecutionReport> {
  const detail = await engine.admin.getExecution(executionId);
  if (!detail) throw new Error(`execution ${executionId} is missing from the store`);
  const { records: journal } = await engine.admin.readJournal(executionId);
  const { failures } = await engine.admin.listFailures({ executionId, unrecoveredOnly: true, limit: 100 });
  const children: ChildReport[] = [];
  for (const child of detail.children) children.push({ ...(await readExecutionReport(engine, child.id)), stepKey: child.stepKey });
  return {
    executionId,
    status: detail.execution.status,
    error: detail.execution.error,
    lastLsn: journal.at(-1)?.executionLastLsn ?? null,
    journal: journal.map(reportedRecord),
    steps: detail.steps.map((s) => ({ key: s.key, kind: s.kind, status: s.status, attempt: s.attempt, compensationStatus: s.compensationStatus })),
    unrecoveredFailures: failures.map((f) => ({ type: f.type, stepKey: f.stepKey, errorClass: f.errorClass, message: f.message })),
    signals: detail.signals.map((g) => ({ id: g.id, name: g.name, idempotencyKey: g.idempotencyKey, consumedBy: g.consumedBy })),
    children,
  };
}

/**
 * The newest LSN in an execution's journal and its children's: LSNs are global and increase, so any
 * record written after this one was read has a higher LSN, in whichever execution it is.
 */
export function newestLsn(report: ExecutionReport): number | null {
  let newest = report.journal.at(-1)?.lsn ?? null;
  for (const child of report.children) {
    const n = newestLsn(child);
    if (n !== null && (newest === null || n > newest)) newest = n;
  }
  return newest;
}
