/**
 * The open waits of one run, and the one place they are settled.
 *
 * A wait settles only when the run can go no further without it: when nothing else in the run can move
 * (no call in progress, a full turn of the event loop changed nothing), the worker asks the database
 * (aries.await_waits) for the first event among the waits the workflow is blocked on — a sleep's end, a
 * signal, a child's end, a timeout — and settles that one wait, then lets the workflow run to its next
 * resting point and asks again. When nothing has come, the database suspends the execution (SLEEPING or
 * WAITING, no lease owner) and the run ends: it holds no slot and no memory while it waits. Settling one
 * wait at a time, in the database's order, is what makes a race between waits come out the same on
 * every replay: replayed waits settle in the order of the LSNs that settled them (one per turn of the
 * event loop, so the workflow reacts to each before the next, as it did the first time).
 *
 * Waits that lost a race (wait-promise.ts) are cancelled with the next request; waits still open when the
 * workflow function returns are cancelled by the runner before the execution completes.
 *
 * Settling is where a wait's metrics are counted (a signal consumed, a wait timed out) and, when tracing
 * is on, its span recorded (tracing.ts) before the workflow sees the outcome: once per wait, never on replay.
 */
import { decodePayload, decodeStoredError } from '../../core/payload-codec.js';
import type { StoredError } from '../../core/stored-error.js';
import { awaitWaits, readWaits } from '../../db/waits.js';
import { crashPoint } from '../crash-points.js';
import { recordWaitSpan, type WaitSpanOutcome } from '../tracing.js';
import type { RunStateDeps } from './run-state-deps.js';
import { nextTurn, type StepJournal } from './step-journal.js';

/** What the coordinator needs of its run (a RunState is one). */
export interface WaitHost {
  readonly deps: Pick<RunStateDeps, 'db' | 'lease' | 'metrics' | 'signal' | 'span' | 'workflow' | 'codec'>;
  readonly journal: Pick<StepJournal, 'flush' | 'poke' | 'untilQuiet'>;
  readonly executionId: string;
  readonly interrupt: unknown;
  interrupted(signal: unknown): unknown;
  storage<T>(call: () => Promise<T>): Promise<T>;
}

export type WaitOutcome = { kind: 'completed'; output: unknown } | { kind: 'failed'; error: StoredError };

/** How a run ended while blocked on waits: suspended in the database, or stopped by an interrupt. */
export type WaitHalt =
  | { kind: 'suspended'; status: 'SLEEPING' | 'WAITING'; availableAt: Date | null; dueInMs: number | null }
  | { kind: 'interrupted' };

interface OpenWait {
  kind: 'sleep' | 'signal' | 'child';
  settle: (outcome: WaitOutcome) => void;
}

/** A settled wait's span outcome: its event came, its timeout came first, or its child failed. */
function spanOutcome(outcome: WaitOutcome): WaitSpanOutcome {
  if (outcome.kind === 'completed') return 'completed';
  return outcome.error.code === 'WAIT_TIMEOUT' ? 'timed_out' : 'failed';
}

export class WaitCoordinator {
  private readonly open = new Map<string, OpenWait>();
  private readonly losers = new Set<string>();
  private readonly replayed: { lsn: number; settle: () => void }[] = [];
  private replaying = false;
  private looping = false;
  private halt: ((h: WaitHalt) => void) | undefined;
  /** Resolves when the run stops while blocked on waits; the runner races it with the workflow function. */
  readonly halted: Promise<WaitHalt>;
  private done = false;

  constructor(private readonly run: WaitHost) {
    this.halted = new Promise((resolve) => (this.halt = resolve));
  }

  /** A wait is open (begun, or recorded as WAITING): it settles when the database says it came. */
  opened(key: string, kind: OpenWait['kind'], settle: OpenWait['settle']): void {
    this.open.set(key, { kind, settle });
    if (!this.looping) {
      this.looping = true;
      void this.loop();
    }
  }

  /** A wait recorded as settled: settled in the order of `lsn` among the replayed ones, a turn apart. */
  replay(lsn: number, settle: () => void): void {
    this.replayed.push({ lsn, settle });
    if (this.replaying) return;
    this.replaying = true;
    void (async () => {
      while (this.replayed.length > 0) {
        await nextTurn(); // every wait raced with this one has been called by now
        this.replayed.sort((a, b) => a.lsn - b.lsn);
        this.replayed.shift()!.settle();
      }
      this.replaying = false;
    })();
  }

  /** Waits that lost a race: cancelled with the next request (an open one is no longer waited for). */
  lost(keys: readonly string[]): void {
    for (const key of keys) {
      if (this.open.delete(key)) this.losers.add(key);
    }
  }

  /** Waits that lost a race and are not cancelled yet: the runner cancels them at the end of the run. */
  lostWaits(): string[] {
    return [...this.losers];
  }

  /** Those, and the waits still open: what the runner cancels when the workflow function returned. */
  unsettled(): string[] {
    return [...this.open.keys(), ...this.losers];
  }

  /** The run ended by other means: nothing more is asked of the database. */
  close(): void {
    this.done = true;
    this.run.journal.poke();
  }

  /** The settled wait's metrics: a signal taken from the mailbox, a timeout. */
  private count(kind: OpenWait['kind'] | undefined, outcome: WaitOutcome): void {
    const metrics = this.run.deps.metrics;
    if (!metrics) return;
    if (outcome.kind === 'completed' && kind === 'signal') metrics.signalsConsumed.inc();
    if (outcome.kind === 'failed' && outcome.error.code === 'WAIT_TIMEOUT') metrics.timeouts.wait.inc();
  }

  /**
   * Records the spans of waits that ended, when the run is traced: `keys` with `outcome`, `cancelled` as
   * cancelled; when each began and ended is read back from the database. A failed read costs the spans only.
   */
  async trace(keys: readonly string[], outcome: WaitSpanOutcome, message?: string, cancelled: readonly string[] = []): Promise<void> {
    const { deps, executionId } = this.run;
    if (deps.span?.isRecording() !== true || keys.length + cancelled.length === 0) return;
    let rows;
    try {
      rows = await readWaits(deps.db, executionId, [...keys, ...cancelled]);
    } catch {
      return;
    }
    for (const w of rows) {
      const lost = !keys.includes(w.stepKey);
      recordWaitSpan(
        deps.span,
        {
          workflow: deps.workflow.name,
          executionId,
          stepKey: w.stepKey,
          kind: w.kind,
          signalName: w.signalName,
          childExecutionId: w.childId,
          wakeAt: w.wakeAt,
          outcome: lost ? 'cancelled' : outcome,
          message: lost ? undefined : message,
        },
        w.createdAt,
        w.resolvedAt ?? new Date(),
      );
    }
  }

  private stop(h: WaitHalt): void {
    this.done = true;
    this.halt?.(h);
  }

  private async loop(): Promise<void> {
    const { run } = this;
    try {
      while (this.open.size > 0 && !this.done) {
        await run.journal.untilQuiet();
        if (this.done || this.open.size === 0) break;
        if (run.deps.signal.aborted) run.interrupted(run.deps.signal.reason);
        if (run.interrupt !== undefined) return this.stop({ kind: 'interrupted' });
        let result;
        const cancel = [...this.losers];
        try {
          await run.storage(() => run.journal.flush());
          result = await run.storage(() => awaitWaits(run.deps.db, run.deps.lease, [...this.open.keys()], cancel));
          for (const key of cancel) this.losers.delete(key);
        } catch (err) {
          run.interrupted(err);
          return this.stop({ kind: 'interrupted' });
        }
        if (result.outcome === 'suspended') {
          await this.trace([], 'cancelled', undefined, cancel);
          for (const key of this.open.keys()) crashPoint('during-wait', key);
          return this.stop({ kind: 'suspended', status: result.status, availableAt: result.availableAt, dueInMs: result.dueInMs });
        }
        crashPoint('after-wait-settle', result.stepKey);
        const wait = this.open.get(result.stepKey);
        this.open.delete(result.stepKey);
        let outcome: WaitOutcome;
        try {
          outcome = await decodeWaitOutcome(run, result);
        } catch (err) {
          run.interrupted(err); // an encoded payload this worker cannot decode: the run fails with the reason
          return this.stop({ kind: 'interrupted' });
        }
        this.count(wait?.kind, outcome);
        await this.trace([result.stepKey], spanOutcome(outcome), outcome.kind === 'failed' ? outcome.error.message : undefined, cancel);
        wait?.settle(outcome);
      }
    } finally {
      this.looping = false;
      if (this.open.size > 0 && !this.done) {
        this.looping = true;
        void this.loop();
      }
    }
  }
}

/** A settled wait's outcome as the workflow sees it: a signal's payload, a child's output or an error, decoded. */
async function decodeWaitOutcome(
  run: WaitHost,
  result: { outcome: 'completed'; stepKey: string; output: unknown } | { outcome: 'failed'; stepKey: string; error: StoredError },
): Promise<WaitOutcome> {
  const what = `the outcome of wait "${result.stepKey}" of execution ${run.executionId}`;
  if (result.outcome === 'failed') return { kind: 'failed', error: await decodeStoredError(result.error, what, run.deps.codec, run.executionId) };
  return { kind: 'completed', output: await decodePayload(result.output, what, run.deps.codec, { kind: 'stepOutput', executionId: run.executionId }) };
}
