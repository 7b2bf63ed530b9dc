/**
 * The facts verify needs from one execution's journal, counted per step key: which steps started (in
 * order), with which attempts, how often each completed, was retried or compensated; which waits began
 * (step_waiting, with what they wait for), settled, or held the execution suspended. The reference run's
 * summary says which crash points a workflow reaches; a recovered run's summary is what the judge checks.
 * A run of a step is an attempt journaled as started: a retry is announced by a step_retrying record
 * before it, so any further start is a re-run after a crash. A wait has no attempts of its own: it begins
 * once, and a worker that resumes it finds it begun.
 */

import type { ExecutionReport, ReportedRecord } from './execution-report.js';

export interface KeyCounts {
  /** Attempts of the step's step_started records, in journal order. */
  startedAttempts: number[];
  completed: number;
  retrying: number;
  compensationStartedAttempts: number[];
  compensationCompleted: number;
  compensationRetrying: number;
  /** A wait's step_waiting records (one, unless a rollback voided it), and what it waits for. */
  waitBegun: number;
  waitKind: string | null;
  /** step_failed records (a wait that timed out, a step whose failure ended its retries). */
  failed: number;
}

export interface JournalSummary {
  /** Step keys in the order their first intent was journaled. */
  stepKeys: string[];
  /** Keys with a step_completed record, in completion order. */
  completedKeys: string[];
  /** Keys whose step or compensation was retried after a TRANSIENT failure. */
  retriedKeys: string[];
  /** Keys whose compensation started / completed, in journal order. */
  compensationStartedKeys: string[];
  compensatedKeys: string[];
  /** Keys of waits, in the order they began. */
  waitKeys: string[];
  /** Waits that settled (completed, or failed by a timeout or their child's failure), in order. */
  settledWaitKeys: string[];
  /** Waits the execution was suspended on (SLEEPING or WAITING), in the order first suspended on. */
  suspendedOn: string[];
  byKey: Map<string, KeyCounts>;
}

function emptyCounts(): KeyCounts {
  return {
    startedAttempts: [],
    completed: 0,
    retrying: 0,
    compensationStartedAttempts: [],
    compensationCompleted: 0,
    compensationRetrying: 0,
    waitBegun: 0,
    waitKind: null,
    failed: 0,
  };
}

const addOnce = (list: string[], key: string) => {
  if (!list.includes(key)) list.push(key);
};

export function summarizeJournal(journal: readonly ReportedRecord[]): JournalSummary {
  const summary: JournalSummary = {
    stepKeys: [],
    completedKeys: [],
    retriedKeys: [],
    compensationStartedKeys: [],
    compensatedKeys: [],
    waitKeys: [],
    settledWaitKeys: [],
    suspendedOn: [],
    byKey: new Map(),
  };
  for (const r of journal) {
    if (r.kind === 'execution_suspended') for (const key of r.suspendedOn ?? []) addOnce(summary.suspendedOn, key);
    if (r.stepKey === null) continue;
    let counts = summary.byKey.get(r.stepKey);
    if (!counts) summary.byKey.set(r.stepKey, (counts = emptyCounts()));
    switch (r.kind) {
      case 'step_started':
        addOnce(summary.stepKeys, r.stepKey);
        counts.startedAttempts.push(r.attempt ?? 0);
        break;
      case 'step_waiting':
        addOnce(summary.waitKeys, r.stepKey);
        counts.waitBegun++;
        counts.waitKind = r.waitKind ?? counts.waitKind;
        break;
      case 'step_completed':
        addOnce(summary.completedKeys, r.stepKey);
        if (counts.waitBegun > 0) addOnce(summary.settledWaitKeys, r.stepKey);
        counts.completed++;
        break;
      case 'step_failed':
        if (counts.waitBegun > 0) addOnce(summary.settledWaitKeys, r.stepKey);
        counts.failed++;
        break;
      case 'step_retrying':
        addOnce(summary.retriedKeys, r.stepKey);
        counts.retrying++;
        break;
      case 'compensation_started':
        addOnce(summary.compensationStartedKeys, r.stepKey);
        counts.compensationStartedAttempts.push(r.attempt ?? 0);
        break;
      case 'compensation_completed':
        addOnce(summary.compensatedKeys, r.stepKey);
        counts.compensationCompleted++;
        break;
      case 'compensation_retrying':
        addOnce(summary.retriedKeys, r.stepKey);
        counts.compensationRetrying++;
        break;
    }
  }
  return summary;
}

/** The summaries of an execution's journal and of its children's, theirs in turn: the execution's first. */
export function treeSummaries(report: ExecutionReport): JournalSummary[] {
  const out = [summarizeJournal(report.journal)];
  for (const child of report.children) out.push(...treeSummaries(child));
  return out;
}

/** Runs beyond the first and the announced retries: how often the step (or its compensation) ran again. */
export function extraRuns(counts: KeyCounts): { step: number; compensation: number } {
  return {
    step: Math.max(0, counts.startedAttempts.length - 1 - counts.retrying),
    compensation: Math.max(0, counts.compensationStartedAttempts.length - 1 - counts.compensationRetrying),
  };
}

/**
 * Steps (and compensations) in flight at the end of `journal`: their last record is a start. After a
 * crash these are the ones the crash interrupted; they, and only they, may run again on recovery.
 */
export function inFlight(journal: readonly ReportedRecord[]): { steps: string[]; compensations: string[] } {
  const lastStep = new Map<string, string>();
  const lastCompensation = new Map<string, string>();
  for (const r of journal) {
    if (r.stepKey === null) continue;
    if (r.kind.startsWith('step_')) lastStep.set(r.stepKey, r.kind);
    if (r.kind.startsWith('compensation_')) lastCompensation.set(r.stepKey, r.kind);
  }
  const started = (m: Map<string, string>, kind: string) => [...m].filter(([, k]) => k === kind).map(([key]) => key);
  return { steps: started(lastStep, 'step_started'), compensations: started(lastCompensation, 'compensation_started') };
}

/**
 * Keys whose step (or compensation) started again after it had completed, and waits that began again
 * after they had settled: what must never happen.
 */
export function startedAfterCompletion(journal: readonly ReportedRecord[]): { steps: string[]; compensations: string[]; waits: string[] } {
  const done = { steps: new Set<string>(), compensations: new Set<string>() };
  const again = { steps: new Set<string>(), compensations: new Set<string>(), waits: new Set<string>() };
  for (const r of journal) {
    if (r.stepKey === null) continue;
    if (r.kind === 'step_completed') done.steps.add(r.stepKey);
    if (r.kind === 'compensation_completed') done.compensations.add(r.stepKey);
    if (r.kind === 'step_started' && done.steps.has(r.stepKey)) again.steps.add(r.stepKey);
    if (r.kind === 'step_waiting' && done.steps.has(r.stepKey)) again.waits.add(r.stepKey);
    if (r.kind === 'compensation_started' && done.compensations.has(r.stepKey)) again.compensations.add(r.stepKey);
  }
  return { steps: [...again.steps], compensations: [...again.compensations], waits: [...again.waits] };
}
