/**
 * Whether a recovery after a crash is valid, judged from the recovered execution's report against the
 * reference run (the same workflow and input, never crashed). A recovery is valid when:
 *
 *   - the execution came to rest (COMPLETED, COMPENSATED or FAILED) with the reference run's status, and,
 *     when it failed or was compensated, by the same error class;
 *   - its journal is intact (every checksum holds, the prev-LSN chain is unbroken, it ends at the LSN the
 *     execution records);
 *   - no step (or compensation) started again after it completed, or completed twice;
 *   - only the steps (or compensations) the crash interrupted ran again, once, with a higher attempt:
 *     those whose start the journal held, without an outcome, when the recovering worker took over. (At
 *     after-step-commit that is the next step: its intent commits with the completion before it.)
 *   - COMPLETED: the steps that completed are the reference run's;
 *   - COMPENSATED: the compensations that completed are the reference run's, each once, in reverse
 *     completion order of their steps;
 *   - FAILED: an unrecovered failure is recorded (an operator can see it and recover the execution).
 *
 * Verify assumes that the workflow takes the same path whenever it runs with the same input; a workflow
 * whose path depends on state outside its journal is exactly what these checks catch.
 */
import { FINAL_STATUSES, type ExecutionReport } from './execution-report.js';
import { extraRuns, inFlight, startedAfterCompletion, summarizeJournal, type JournalSummary } from './journal-summary.js';

export interface Reference {
  report: ExecutionReport;
  summary: JournalSummary;
}

export interface Judgement {
  valid: boolean;
  problems: string[];
  /** Steps and compensations that ran again after the crash, as `key@attempt` / `key:compensation@attempt`. */
  reruns: string[];
  /** Steps whose compensation completed, in the order they ran. */
  compensations: string[];
}

/** The error's class; a step error replayed from the journal is named for the error it stored. */
export function errorClassOf(error: ExecutionReport['error']): string | null {
  if (!error) return null;
  const original = (error.details as { error?: { name?: unknown } } | undefined)?.error?.name;
  return error.name === 'StepFailedError' && typeof original === 'string' ? original : error.name;
}

function checkJournal(report: ExecutionReport, problems: string[]): void {
  const broken = report.journal.find((r) => !r.checksumOk);
  if (broken) problems.push(`journal record ${broken.lsn} fails its checksum`);
  report.journal.forEach((r, i) => {
    const expected = i === 0 ? null : report.journal[i - 1]!.lsn;
    if (r.prevLsn !== expected) problems.push(`journal record ${r.lsn} does not follow record ${expected ?? '(none)'}`);
  });
  const last = report.journal.at(-1)?.lsn ?? null;
  if (report.lastLsn !== null && last !== report.lastLsn) problems.push(`journal ends at ${last}, the execution records ${report.lastLsn}`);
}

function checkRuns(report: ExecutionReport, crashLsn: number | null, summary: JournalSummary, problems: string[], reruns: string[]): void {
  const interrupted = inFlight(report.journal.filter((r) => crashLsn !== null && r.lsn <= crashLsn));
  const again = startedAfterCompletion(report.journal);
  for (const key of again.steps) problems.push(`step ${key} ran again after it had completed`);
  for (const key of again.compensations) problems.push(`the compensation of ${key} ran again after it had completed`);
  for (const [key, counts] of summary.byKey) {
    if (counts.completed > 1) problems.push(`step ${key} completed ${counts.completed} times`);
    if (counts.compensationCompleted > 1) problems.push(`the compensation of ${key} completed ${counts.compensationCompleted} times`);
    const attempts = counts.startedAttempts;
    if (attempts.some((a, i) => i > 0 && a <= attempts[i - 1]!)) problems.push(`step ${key} started with attempts ${attempts.join(', ')}`);
    const extra = extraRuns(counts);
    if (extra.step > 0) {
      reruns.push(`${key}@${attempts.at(-1)}`);
      if (!interrupted.steps.includes(key)) problems.push(`step ${key} ran again after the crash, which had not interrupted it`);
      else if (extra.step > 1) problems.push(`step ${key} ran ${extra.step} more times after the crash`);
    }
    if (extra.compensation > 0) {
      reruns.push(`${key}:compensation@${counts.compensationStartedAttempts.at(-1)}`);
      if (!interrupted.compensations.includes(key)) problems.push(`the compensation of ${key} ran again after the crash, which had not interrupted it`);
      else if (extra.compensation > 1) problems.push(`the compensation of ${key} ran ${extra.compensation} more times after the crash`);
    }
  }
}

function sameKeys(what: string, got: readonly string[], expected: readonly string[], problems: string[]): void {
  const missing = expected.filter((k) => !got.includes(k));
  const extra = got.filter((k) => !expected.includes(k));
  if (missing.length > 0) problems.push(`${what} ${missing.join(', ')} did not complete (in the reference run they did)`);
  if (extra.length > 0) problems.push(`${what} ${extra.join(', ')} completed (in the reference run they did not)`);
}

function checkOutcome(reference: Reference, report: ExecutionReport, summary: JournalSummary, problems: string[]): void {
  if (report.status === 'COMPLETED') {
    sameKeys('steps', summary.completedKeys, reference.summary.completedKeys, problems);
  } else if (report.status === 'COMPENSATED') {
    sameKeys('compensations of', summary.compensatedKeys, reference.summary.compensatedKeys, problems);
    const expectedOrder = summary.completedKeys.filter((k) => summary.compensatedKeys.includes(k)).reverse();
    if (expectedOrder.join() !== summary.compensatedKeys.join()) {
      problems.push(`compensations ran in the order ${summary.compensatedKeys.join(', ')}; reverse completion order is ${expectedOrder.join(', ')}`);
    }
    const unfinished = report.steps.filter((s) => s.compensationStatus !== null && s.compensationStatus !== 'COMPLETED');
    for (const s of unfinished) problems.push(`the compensation of ${s.key} is ${s.compensationStatus}`);
  } else if (report.status === 'FAILED' && report.unrecoveredFailures.length === 0) {
    problems.push('FAILED with no unrecovered failure recorded');
  }
}

/** `crashLsn`: the journal's last LSN when the recovering worker took over, i.e. where the crash left it. */
export function judgeRecovery(reference: Reference, report: ExecutionReport, crashLsn: number | null): Judgement {
  const problems: string[] = [];
  const reruns: string[] = [];
  const summary = summarizeJournal(report.journal);
  const expected = reference.report.status;
  if (!FINAL_STATUSES.has(report.status)) {
    problems.push(`did not come to rest: still ${report.status}`);
  } else if (report.status !== expected) {
    const why = report.error ? ` (${report.error.name}: ${report.error.message})` : '';
    problems.push(`ended ${report.status}${why}; the reference run ended ${expected}`);
  } else if (report.status !== 'COMPLETED' && errorClassOf(report.error) !== errorClassOf(reference.report.error)) {
    problems.push(`ended ${report.status} by ${errorClassOf(report.error)}; the reference run by ${errorClassOf(reference.report.error)}`);
  }
  checkJournal(report, problems);
  checkRuns(report, crashLsn, summary, problems, reruns);
  if (report.status === expected) checkOutcome(reference, report, summary, problems);
  return { valid: problems.length === 0, problems, reruns, compensations: summary.compensatedKeys };
}
