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
 *   - FAILED: an unrecovered failure is recorded (an operator can see it and recover the execution);
 *   - every wait began once (a resumed wait is found begun, not begun again) and settled at most once;
 *   - every signal consumed was consumed by one signal wait that completed, each such wait consumed one
 *     signal, and the mailbox holds what the reference run's held (a signal sent again after the crash
 *     was a duplicate, not a second signal), each taken by the same wait as in the reference run;
 *   - each child wait started exactly one child (its journal starts once), the children are the
 *     reference run's, and each child's recovery is judged by these same rules against the reference
 *     run's child under the same key (its problems are prefixed "child <key>:").
 *
 * Verify assumes that the workflow takes the same path whenever it runs with the same input; a workflow
 * whose path depends on state outside its journal is exactly what these checks catch.
 */
import { FINAL_STATUSES, type ChildReport, type ExecutionReport, type ReportedSignal } from './execution-report.js';
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
  for (const key of again.waits) problems.push(`wait ${key} began again after it had settled`);
  for (const [key, counts] of summary.byKey) {
    if (counts.waitBegun > 0) {
      if (counts.waitBegun > 1) problems.push(`wait ${key} began ${counts.waitBegun} times`);
      if (counts.completed + counts.failed > 1) problems.push(`wait ${key} settled ${counts.completed + counts.failed} times`);
    } else if (counts.completed > 1) {
      problems.push(`step ${key} completed ${counts.completed} times`);
    }
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

/** The n-th signal of its name, in the order sent: how a signal of a run is matched with the reference run's. */
function signalLabels(signals: readonly ReportedSignal[]): Map<string, ReportedSignal> {
  const seen = new Map<string, number>();
  const labels = new Map<string, ReportedSignal>();
  for (const signal of [...signals].sort((a, b) => Number(a.id) - Number(b.id))) {
    const n = (seen.get(signal.name) ?? 0) + 1;
    seen.set(signal.name, n);
    labels.set(`${signal.name} #${n}`, signal);
  }
  return labels;
}

function checkSignals(reference: ExecutionReport, report: ExecutionReport, summary: JournalSummary, problems: string[]): void {
  const byConsumer = new Map<string, ReportedSignal[]>();
  for (const signal of report.signals) {
    if (signal.consumedBy !== null) byConsumer.set(signal.consumedBy, [...(byConsumer.get(signal.consumedBy) ?? []), signal]);
  }
  for (const [key, taken] of byConsumer) {
    if (taken.length > 1) problems.push(`wait ${key} consumed ${taken.length} signals (ids ${taken.map((t) => t.id).join(', ')})`);
    const counts = summary.byKey.get(key);
    if (!counts || counts.waitKind !== 'signal' || counts.completed === 0) {
      problems.push(`signal ${taken[0]!.name} (id ${taken[0]!.id}) is consumed by ${key}, which is no signal wait that completed`);
    }
  }
  for (const [key, counts] of summary.byKey) {
    if (counts.waitKind === 'signal' && counts.completed > 0 && !byConsumer.has(key)) problems.push(`signal wait ${key} completed without consuming a signal`);
  }
  const got = signalLabels(report.signals);
  const expected = signalLabels(reference.signals);
  const names = new Set([...report.signals, ...reference.signals].map((s) => s.name));
  for (const name of names) {
    const n = report.signals.filter((s) => s.name === name).length;
    const m = reference.signals.filter((s) => s.name === name).length;
    if (n !== m) problems.push(`the mailbox holds ${n} signals ${name}; the reference run's held ${m}`);
  }
  for (const [label, signal] of got) {
    const ref = expected.get(label);
    if (ref && ref.consumedBy !== signal.consumedBy) {
      problems.push(`signal ${label} was consumed by ${signal.consumedBy ?? 'no wait'}; in the reference run by ${ref.consumedBy ?? 'no wait'}`);
    }
  }
}

function checkChildren(reference: ExecutionReport, report: ExecutionReport, crashLsn: number | null, problems: string[], reruns: string[]): void {
  const byKey = new Map<string, ChildReport[]>();
  for (const child of report.children) byKey.set(child.stepKey, [...(byKey.get(child.stepKey) ?? []), child]);
  for (const [key, started] of byKey) {
    if (started.length > 1) problems.push(`child wait ${key} started ${started.length} child executions`);
    const ref = reference.children.find((c) => c.stepKey === key);
    if (!ref) {
      problems.push(`a child was started under ${key} (the reference run started none)`);
      continue;
    }
    const child = started[0]!;
    const starts = child.journal.filter((r) => r.kind === 'execution_started').length;
    if (starts !== 1) problems.push(`child ${key}: its journal records ${starts} starts`);
    const judged = judgeExecution({ report: ref, summary: summarizeJournal(ref.journal) }, child, crashLsn, 'child');
    problems.push(...judged.problems.map((p) => `child ${key}: ${p}`));
    reruns.push(...judged.reruns.map((r) => `${key}/${r}`));
  }
  for (const ref of reference.children) {
    if (!byKey.has(ref.stepKey)) problems.push(`no child was started under ${ref.stepKey} (the reference run started one)`);
  }
}

/** One execution's recovery against its reference: a child is judged by its status alone coming to rest (it may rest CANCELLED). */
function judgeExecution(reference: Reference, report: ExecutionReport, crashLsn: number | null, role: 'execution' | 'child'): Omit<Judgement, 'valid'> {
  const problems: string[] = [];
  const reruns: string[] = [];
  const summary = summarizeJournal(report.journal);
  const expected = reference.report.status;
  if (role === 'execution' && !FINAL_STATUSES.has(report.status)) {
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
  checkSignals(reference.report, report, summary, problems);
  checkChildren(reference.report, report, crashLsn, problems, reruns);
  return { problems, reruns, compensations: summary.compensatedKeys };
}

/**
 * `crashLsn`: the newest LSN of the execution's and its children's journals when the recovering worker
 * took over, i.e. where the crash left them (LSNs are global, so one number serves every journal).
 */
export function judgeRecovery(reference: Reference, report: ExecutionReport, crashLsn: number | null): Judgement {
  const judged = judgeExecution(reference, report, crashLsn, 'execution');
  return { valid: judged.problems.length === 0, ...judged };
}
