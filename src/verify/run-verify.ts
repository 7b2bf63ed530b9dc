/**
 * `aries verify` from start to end, without the command line: a reference run with no crash, the crash
 * cases it implies (crash-cases.ts), each run in a store of its own (run-case.ts), a few at a time, and
 * the rows in crash-point order. The stores are the caller's to create and clean up; an aborted signal
 * (SIGINT) stops new cases from starting.
 */
import { CRASH_POINTS, type CrashPoint } from '../worker/crash-points.js';
import { crashCases, referenceKeys, type CrashCase } from './crash-cases.js';
import type { StoreFactory } from './isolated-stores.js';
import type { Reference } from './judge-recovery.js';
import { summarizeJournal, treeSummaries } from './journal-summary.js';
import { runCase, unreachedRow, type CaseContext, type VerifyRow } from './run-case.js';
import { runWorker, stderrTail, type VerifySignal } from './worker-process.js';

export interface VerifyOptions {
  modulePath: string;
  workflow: string;
  input: unknown;
  /** Signals each worker process sends the execution once it is WAITING (see verify-worker.ts). */
  signals: VerifySignal[];
  stores: StoreFactory;
  points?: CrashPoint[] | undefined;
  steps?: string[] | undefined;
  parallel: number;
  timeoutMs: number;
  signal: AbortSignal;
  onReference?: (reference: Reference, cases: number) => void;
  onCase?: (row: VerifyRow, done: number, total: number) => void;
}

export interface VerifyResult {
  reference: Reference;
  rows: VerifyRow[];
  valid: boolean;
}

export class VerifyError extends Error {
  /** The exit code of `aries verify` for it: 1 unless said otherwise. */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** `aries verify`'s exit code when the reference run itself failed: there is nothing to compare against. */
export const REFERENCE_FAILED_EXIT = 3;

async function referenceRun(opts: VerifyOptions): Promise<Reference> {
  const store = await opts.stores.create();
  try {
    const { modulePath, workflow, input, signals, timeoutMs } = opts;
    const run = await runWorker({ store, modulePath, workflow, start: { input }, signals, timeoutMs });
    if (opts.signal.aborted) throw new VerifyError('interrupted');
    if (run.code !== 0 || !run.report) {
      const detail = run.stderr.trim() ? `\n${stderrTail(run.stderr)}` : '';
      throw new VerifyError(`the reference run (no crash) failed: exit ${run.signal ?? run.code}${detail}`);
    }
    if (!run.settled) {
      const hint = run.report.status === 'WAITING' ? '; give the signals it waits for with --signal, or raise --timeout-ms' : ' (raise --timeout-ms)';
      throw new VerifyError(`the reference run (no crash) did not come to rest within ${timeoutMs} ms: still ${run.report.status}${hint}`);
    }
    if (run.report.status === 'FAILED') {
      const error = run.report.error;
      const why = error ? `${error.name}: ${error.message}` : 'no error recorded';
      throw new VerifyError(
        `the reference run (no crash) ended FAILED (${why}): a workflow that fails without any crash cannot be verified; ` +
          `fix it, or create what it needs in each fresh store with an exported verifySetup(db)`,
        REFERENCE_FAILED_EXIT,
      );
    }
    return { report: run.report, summary: summarizeJournal(run.report.journal) };
  } finally {
    await opts.stores.release(store);
  }
}

/**
 * Runs `fn` over `items`, at most `n` at once. New items stop starting once `signal` is aborted or one
 * fails; the ones running are waited for (their stores are removed only after), then the failure thrown.
 */
async function eachLimited<T>(items: readonly T[], n: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !signal.aborted && failure === undefined) {
      try {
        await fn(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  if (failure) throw failure.error;
}

export async function runVerify(opts: VerifyOptions): Promise<VerifyResult> {
  const reference = await referenceRun(opts);
  const summaries = treeSummaries(reference.report);
  const known = referenceKeys(summaries);
  const unknownSteps = (opts.steps ?? []).filter((k) => !known.includes(k));
  if (unknownSteps.length > 0) {
    throw new VerifyError(`--steps: the reference run has no step or wait ${unknownSteps.join(', ')} (its steps and waits: ${known.join(', ')})`);
  }
  const { cases, unreached } = crashCases(summaries, { points: opts.points, steps: opts.steps });
  opts.onReference?.(reference, cases.length);

  const ctx: CaseContext = { ...opts, reference };
  const results = new Map<CrashCase, VerifyRow>();
  await eachLimited(cases, opts.parallel, opts.signal, async (c) => {
    const row = await runCase(ctx, c);
    results.set(c, row);
    if (!opts.signal.aborted) opts.onCase?.(row, results.size, cases.length); // killed by the interrupt: no news
  });
  if (opts.signal.aborted) throw new VerifyError('interrupted');

  const rows: VerifyRow[] = [];
  for (const point of CRASH_POINTS) {
    if (unreached.includes(point)) rows.push(unreachedRow(point));
    for (const c of cases) if (c.point === point) rows.push(results.get(c)!);
  }
  return { reference, rows, valid: rows.every((r) => r.valid !== false) };
}
