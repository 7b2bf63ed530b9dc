/**
 * An execution's steps as one run sees them: where each step goes (its position), what the journal
 * recorded under each key, which recorded keys this run has reached, and the writes it owes the journal.
 *
 * Positions. A recorded key keeps the position it was first given; a key the journal never saw takes the
 * next one after the frontier (the highest position any step of the execution holds), so a position is
 * never given twice, whatever order parallel calls arrive in. Positions order the journal, pace the
 * checkpoint cadence and are shown to operators; replay never matches by them.
 *
 * Reaching. Every recorded key (but those a rollback voided) must be reached again by the code that
 * recorded it. A new key may only run once every recorded key has been reached: before that it waits, as
 * a parallel branch may still be replaying its way there. If nothing else in the run can move (every call
 * in progress is waiting here, and a full turn of the event loop changed nothing), the recorded keys can
 * no longer be reached before the new one: the code is not the code that wrote the journal, and the new
 * step is refused before it runs (NondeterminismError). This holds for workflow code that, between steps,
 * awaits only ctx calls: a branch awaiting a plain timer or a fetch cannot be told from one that is done.
 *
 * Writes. Completions wait in `pending` and travel with the next step's intent or the execution's end,
 * in one transaction; the writes of one execution run one after another, in the order asked for. A timer
 * writes a completion alone if nothing else comes within flushDelayMs, so a crash meanwhile cannot re-run
 * a completed step.
 */
import type { Database } from '../../db/database.js';
import type { Lease } from '../../db/leases.js';
import type { StepCompletion, StepKind } from '../../db/steps.js';
import { NondeterminismError } from '../../errors.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import { crashPoint } from '../crash-points.js';
import type { ReplayLog, StepRecord } from '../run/replay-log.js';
import type { StepWriter } from '../step-write-batcher.js';

export interface StepJournalDeps {
  db: Database;
  lease: Lease;
  workflow: Workflow;
  replay: ReplayLog;
  writer: StepWriter;
  /** A completion waits at most this long for the next transition before it is written on its own. */
  flushDelayMs?: number | undefined;
}

/** The first few keys, quoted, for an error message. */
function listKeys(keys: readonly string[]): string {
  return keys.slice(0, 5).map((k) => `"${k}"`).join(', ') + (keys.length > 5 ? `, … (${keys.length} in all)` : '');
}

/** How each kind of call is named in an error message. */
const KIND_WORDS: Record<StepKind, string> = {
  step: 'a step',
  transaction: 'a transaction',
  sleep: 'a sleep',
  signal: 'a signal wait',
  child: 'a child workflow',
};

/** Resolves after every continuation already due has run (one turn of the event loop). */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class StepJournal {
  private readonly deps: StepJournalDeps;
  private nextSeq: number;
  /** Keys this run has called, replayed or not. */
  private readonly reached = new Set<string>();
  /** Set once every recorded key has been reached: from then on new keys run at once. */
  private caughtUp: boolean;
  /** Calls in progress (entered, not settled), but those waiting for the recorded keys and open waits. */
  private active = 0;
  /** New keys waiting for the recorded ones (placeAfterRecorded). */
  private gated = 0;
  /** Bumped at every entry and settlement: how a waiting call tells that something moved. */
  private epoch = 0;
  private waiters: (() => void)[] = [];
  private pending: StepCompletion[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(deps: StepJournalDeps) {
    this.deps = deps;
    this.nextSeq = deps.replay.frontier + 1;
    this.caughtUp = !deps.replay.hasHistory;
  }

  /** A call of the workflow's reached `key`; false if this run reached it before (a duplicate key). */
  reach(key: string): boolean {
    if (this.reached.has(key)) return false;
    this.reached.add(key);
    this.entered();
    return true;
  }

  /** The call that reached a key has settled (returned or thrown to the workflow). */
  settled(): void {
    this.active--;
    this.moved();
  }

  /**
   * The journal's record of `key`, called as a `kind`; undefined when there is none (at once on a first
   * run: nothing is recorded). A key recorded as another kind is a NondeterminismError.
   */
  recordOf(key: string, kind: StepKind): Promise<StepRecord | undefined> | undefined {
    return this.deps.replay.hasHistory ? this.recordedAs(key, kind) : undefined;
  }

  private async recordedAs(key: string, kind: StepKind): Promise<StepRecord | undefined> {
    const record = await this.deps.replay.recordOf(key);
    if (record && record.kind !== kind) {
      throw new NondeterminismError(
        `execution ${this.deps.lease.executionId} recorded step "${key}" as ${KIND_WORDS[record.kind]}, but the workflow code now runs it as ` +
          `${KIND_WORDS[kind]}; the code changed under a running execution (deploy such changes as a new workflow version)`,
      );
    }
    return record;
  }

  /**
   * The position of a key the journal never saw, once every recorded key has been reached; throws
   * NondeterminismError when they can no longer be (see the module header).
   */
  placeNew(key: string): number | Promise<number> {
    return this.caughtUp ? this.nextSeq++ : this.placeAfterRecorded(key);
  }

  private async placeAfterRecorded(key: string): Promise<number> {
    const obliged = await this.deps.replay.obligedKeys();
    this.active--; // this call waits: it is not something that can move the others
    this.gated++;
    this.moved();
    try {
      for (;;) {
        const missing = [...obliged].filter((k) => !this.reached.has(k));
        if (missing.length === 0) break;
        if (this.active > 0) {
          await this.nextMove();
          continue;
        }
        const epoch = this.epoch;
        await nextTurn(); // every continuation already due runs first
        if (this.epoch === epoch && this.active === 0) throw this.unreachable(key, missing);
      }
      this.caughtUp = true;
    } finally {
      this.gated--;
      this.entered();
    }
    return this.nextSeq++;
  }

  /**
   * A finished run must have reached every recorded key: the error naming those it did not (read to the
   * frontier), or undefined.
   */
  async unreachedAtEnd(): Promise<NondeterminismError | undefined> {
    if (this.caughtUp) return undefined;
    const obliged = await this.deps.replay.obligedKeys();
    const missing = [...obliged].filter((k) => !this.reached.has(k));
    if (missing.length === 0) return undefined;
    return new NondeterminismError(
      `execution ${this.deps.lease.executionId} finished its workflow function without reaching steps its journal recorded ` +
        `(${listKeys(missing)}); the code changed under a running execution (deploy such changes as a new workflow version)`,
    );
  }

  private unreachable(key: string, missing: string[]): NondeterminismError {
    return new NondeterminismError(
      `execution ${this.deps.lease.executionId}: the workflow code now runs step "${key}", which its journal never recorded, ` +
        `while recorded steps it no longer reaches remain (${listKeys(missing)}); the code changed under a running execution ` +
        '(deploy such changes as a new workflow version)',
    );
  }

  /** A call became an open wait: it moves nothing until the wait settles (see untilQuiet). */
  idle(): void {
    this.active--;
    this.moved();
  }

  /** An open wait is about to settle: its call is in progress again. */
  busy(): void {
    this.entered();
  }

  /** Something outside the calls changed (an interrupt, a deadline): whoever waits for a move looks again. */
  poke(): void {
    this.moved();
  }

  /**
   * Resolves once nothing in the run can move but the open waits: no call in progress, none waiting for
   * the recorded keys, and a full turn of the event loop changed nothing.
   */
  async untilQuiet(): Promise<void> {
    for (;;) {
      if (this.active > 0 || this.gated > 0) {
        await this.nextMove();
        continue;
      }
      const epoch = this.epoch;
      await nextTurn();
      if (this.epoch === epoch && this.active === 0 && this.gated === 0) return;
    }
  }

  private entered(): void {
    this.active++;
    this.moved();
  }

  private moved(): void {
    this.epoch++;
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private nextMove(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Journals the intent to run `key` at `seq` (with the pending completions); resolves with its attempt number. */
  begin(seq: number, stepKey: string, kind: StepKind): Promise<number> {
    return this.write({ seq, stepKey, kind }) as Promise<number>; // a start always numbers its attempt
  }

  /** A step's completion, to be written with the next transition (or by the timer). */
  complete(completion: StepCompletion): void {
    this.pending.push(completion);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch(() => {}); // the same error reaches the next write, which reports it
    }, this.deps.flushDelayMs ?? 20);
  }

  /** Writes every pending completion (before a failure or a hand-back is recorded). */
  async flush(): Promise<void> {
    await this.write();
  }

  /**
   * Ends the execution COMPLETED together with the completions of its last steps, in one transaction:
   * the worker's group commit, with other executions' step writes.
   */
  async finish(outputJson: string | null): Promise<void> {
    await this.writes;
    const batch = this.takePending();
    try {
      const { lease, workflow, writer } = this.deps;
      await writer.write({ lease, durability: workflow.durability, completions: batch, finish: { outputJson } });
    } catch (err) {
      this.pending = batch.concat(this.pending); // not written: keep them, a retried flush records them
      throw err;
    }
    for (const c of batch) crashPoint('after-step-commit', c.stepKey);
  }

  /** Drops what is pending without writing it (the lease is lost: the database would refuse it). */
  abandon(): void {
    this.takePending();
  }

  private takePending(): StepCompletion[] {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  /** Writes the pending completions, and the intent to start `start` if given, after any write under way. */
  private write(start?: { seq: number; stepKey: string; kind: StepKind }): Promise<number | undefined> {
    const run = async () => {
      if (this.pending.length === 0 && !start) return undefined;
      const batch = this.takePending();
      try {
        const { lease, workflow, writer } = this.deps;
        const attempt = await writer.write({ lease, durability: workflow.durability, completions: batch, start });
        for (const c of batch) crashPoint('after-step-commit', c.stepKey);
        return attempt;
      } catch (err) {
        this.pending = batch.concat(this.pending); // not written: keep them for the next attempt
        throw err;
      }
    };
    const result = this.writes.then(run);
    this.writes = result.catch(() => {});
    return result;
  }
}
