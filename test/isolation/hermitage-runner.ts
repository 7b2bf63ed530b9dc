/**
 * Runs a Hermitage script (github.com/ept/hermitage) through transactional steps: each Hermitage
 * transaction T1/T2/T3 is the one `ctx.transaction` step of its own execution, and the statements of the
 * transactions are interleaved in the script's order by turns shared in-process between the step
 * functions. A turn is done when its statement returned (or, for a statement that waits on a row lock,
 * when the server shows it waiting); a commit's turn is done when the step — statements and completion —
 * has committed, i.e. when `ctx.transaction` returned to the workflow.
 *
 * Two modes:
 *  - 'interleaved' (a PostgreSQL server): the executions run at once on separate pooled connections and
 *    every turn waits for all earlier turns; a turn that never comes fails the run (no hidden hangs).
 *  - 'serial' (PGlite): one connection runs one transaction at a time, so a transaction can never see the
 *    other's earlier turns while it is open; a turn waits a short while for them, then goes on alone.
 */
import { defineWorkflow, PermanentError, type Engine, type IsolationLevel, type TransactionContext } from '../../src/index.js';

/** 1–3: a Hermitage transaction; 0: an autocommit statement outside any transaction (Hermitage's "either"). */
export type Role = 0 | 1 | 2 | 3;

export interface Row {
  id: number;
  value: number;
}

export interface Op {
  t: Role;
  /** A statement; absent for `end`. */
  sql?: string;
  /** Parameters computed from what the transactions saw so far (a read-modify-write). */
  params?: (o: Observations) => unknown[];
  /** The name its result is recorded under. */
  as?: string;
  /** May wait on a row lock another open transaction holds: started, seen waiting, then awaited later. */
  mayBlock?: boolean;
  end?: 'commit' | 'abort';
}

export type Mode = 'interleaved' | 'serial';

export interface TxOutcome {
  status: 'committed' | 'aborted' | 'failed' | 'error';
  /** SQLSTATE of a failure (40001, 40P01), or of an unexpected error. */
  code?: string;
  message?: string;
  /** The statement the failure came from; undefined: at COMMIT (after the statements). */
  failedOn?: string;
}

export interface Span {
  began: number;
  /** The step function returned or threw (its statements are over). */
  statementsEnded: number;
  /** The step function returned: whatever failed after it failed at COMMIT (or in recording the completion). */
  returned: boolean;
  pid: number | undefined;
  /** current_setting('transaction_isolation') inside the step's transaction. */
  level: string;
}

/** A statement seen waiting on a row lock, and the transactions holding it. */
export interface Blocked {
  t: Role;
  sql: string;
  by: Role[];
}

/** What the transactions saw: the rows each statement returned, which statements blocked, how each ended. */
export class Observations {
  readonly rows = new Map<string, Row[]>();
  readonly blocked: Blocked[] = [];
  readonly outcome = new Map<Role, TxOutcome>();
  readonly spans = new Map<Role, Span>();
  final: Row[] = [];
  private clock = 0;

  tick(): number {
    return ++this.clock;
  }

  /** The rows a labelled statement returned; throws if it never ran. */
  read(label: string): Row[] {
    const rows = this.rows.get(label);
    if (!rows) throw new Error(`statement "${label}" returned nothing (it did not run)`);
    return rows;
  }

  /** The value of row `id` in a labelled read, or undefined if the row was not returned. */
  value(label: string, id: number): number | undefined {
    return this.read(label).find((r) => r.id === id)?.value;
  }

  ran(label: string): boolean {
    return this.rows.has(label);
  }

  committed(t: Role): boolean {
    return this.outcome.get(t)?.status === 'committed';
  }
}

/** Rows as Hermitage prints them: `1 => 10, 2 => 20`. */
export function showRows(rows: readonly Row[]): string {
  return rows.length === 0 ? '(no rows)' : rows.map((r) => `${r.id} => ${r.value}`).join(', ');
}

class Turns {
  private readonly done = new Set<number>();
  private waiters: { n: number; resolve: () => void }[] = [];

  isReady(n: number): boolean {
    for (let i = 0; i < n; i++) if (!this.done.has(i)) return false;
    return true;
  }

  missing(n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (!this.done.has(i)) out.push(i);
    return out;
  }

  markDone(n: number): void {
    this.done.add(n);
    this.waiters = this.waiters.filter((w) => {
      if (!this.isReady(w.n)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when every turn before `n` is done, or false after `ms`. */
  wait(n: number, ms: number): Promise<boolean> {
    if (this.isReady(n)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      const waiter = {
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** A transaction ended by the script (Hermitage's `abort;`). */
export class ScriptedAbort extends PermanentError {
  constructor() {
    super('hermitage: the script aborts this transaction');
  }
}

/** In 'interleaved' mode: how long a turn may wait for the earlier ones before the run is declared stuck. */
const TURN_TIMEOUT_MS = 20_000;
/** In 'serial' mode: how long a transaction waits for the other's turns before going on alone. */
const SERIAL_WAIT_MS = 250;
/** How long a statement that blocked may take to finish once the lock holder is done. */
const UNBLOCK_TIMEOUT_MS = 15_000;

type Settled = { ok: true; rows: Row[] } | { ok: false; error: unknown };

const settle = (p: Promise<Row[]>): Promise<Settled> =>
  p.then(
    (rows) => ({ ok: true as const, rows }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))),
  ]);
}

/** Integer columns come back as numbers on both backends; normalise anyway. */
const rowsOf = (rows: readonly Record<string, unknown>[]): Row[] => rows.map((r) => ({ id: Number(r.id), value: Number(r.value) }));

export class Run {
  readonly obs = new Observations();
  private readonly turns = new Turns();
  readonly label = (i: number): string => this.ops[i]!.as ?? `#${i}`;

  constructor(
    readonly id: string,
    readonly ops: readonly Op[],
    readonly level: IsolationLevel,
    readonly mode: Mode,
    private readonly engine: Engine,
  ) {}

  roles(): Role[] {
    return [...new Set(this.ops.map((o) => o.t))].filter((t) => t !== 0).sort();
  }

  private turnsOf(t: Role): number[] {
    return this.ops.flatMap((o, i) => (o.t === t ? [i] : []));
  }

  /** Waits until every turn before `n` is done (interleaved), or briefly for them (serial). */
  async at(n: number, who: string): Promise<void> {
    if (this.mode === 'serial') {
      await this.turns.wait(n, SERIAL_WAIT_MS);
      return;
    }
    if (!(await this.turns.wait(n, TURN_TIMEOUT_MS))) {
      throw new Error(`${who}: turn ${n} never came (still waiting for turns ${this.turns.missing(n).join(', ')}) in ${this.id}`);
    }
  }

  done(n: number): void {
    this.turns.markDone(n);
  }

  /** Ends a transaction's part in the script: all its turns count as done (a failed one skips the rest). */
  finished(t: Role): void {
    for (const n of this.turnsOf(t)) this.turns.markDone(n);
  }

  firstTurn(t: Role): number {
    return this.turnsOf(t)[0]!;
  }

  /** The body of transaction `t`'s step: its statements, each at its turn. */
  async transaction(t: Role, tx: TransactionContext): Promise<void> {
    const span: Span = { began: this.obs.tick(), statementsEnded: 0, returned: false, pid: undefined, level: '' };
    this.obs.spans.set(t, span);
    try {
      // Outside the script (none reads or writes `test`): the level the step's transaction runs at, which
      // backend runs it, and a bound on lock waits.
      span.level = String((await tx.query<{ level: string }>(`SELECT current_setting('transaction_isolation') AS level`))[0]!.level);
      if (this.mode === 'interleaved') {
        span.pid = Number((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid);
        await tx.query(`SET LOCAL lock_timeout = '${UNBLOCK_TIMEOUT_MS}ms'`);
      }
      let pending: { label: string; result: Promise<Settled> } | undefined;
      for (const n of this.turnsOf(t)) {
        const op = this.ops[n]!;
        await this.at(n, `T${t}`);
        if (pending) {
          const { label, result } = pending;
          pending = undefined;
          this.record(t, label, await timeout(result, UNBLOCK_TIMEOUT_MS, `T${t}'s blocked statement "${label}"`));
        }
        if (op.end === 'commit') {
          span.returned = true;
          return; // the step's completion commits; the workflow marks this turn
        }
        if (op.end === 'abort') throw new ScriptedAbort();
        const label = this.label(n);
        const result = settle(tx.query<Record<string, unknown>>(op.sql!, op.params?.(this.obs) ?? []).then(rowsOf));
        const by = op.mayBlock && this.mode === 'interleaved' ? await this.waitsOnLock(span.pid!, result) : undefined;
        if (by) {
          this.obs.blocked.push({ t, sql: op.sql!, by });
          pending = { label, result };
          this.done(n); // the statement is issued and waiting: the others go on
          continue;
        }
        this.record(t, label, await timeout(result, UNBLOCK_TIMEOUT_MS, `T${t}'s statement "${op.sql}"`));
        this.done(n);
      }
    } finally {
      span.statementsEnded = this.obs.tick();
    }
  }

  private failedOn = new Map<Role, string>();

  private record(t: Role, label: string, settled: Settled): void {
    if (settled.ok) {
      this.obs.rows.set(label, settled.rows);
      return;
    }
    this.failedOn.set(t, label);
    throw settled.error;
  }

  /**
   * Once the server shows `pid` waiting on a lock: the transactions of this run holding it (from
   * pg_blocking_pids). Undefined if the statement finished without waiting.
   */
  private async waitsOnLock(pid: number, result: Promise<Settled>): Promise<Role[] | undefined> {
    let finished = false;
    void result.then(() => (finished = true));
    const deadline = Date.now() + UNBLOCK_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await sleep(10);
      if (finished) return undefined;
      const [row] = await this.engine.db.query<{ wait_event_type: string | null; blockers: number[] | null }>(
        'SELECT wait_event_type, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      if (finished) return undefined;
      if (row?.wait_event_type === 'Lock') {
        const blockers = new Set((row.blockers ?? []).map(Number));
        return [...this.obs.spans].filter(([, s]) => s.pid !== undefined && blockers.has(s.pid)).map(([role]) => role);
      }
    }
    throw new Error(`a statement of ${this.id} neither finished nor waited on a lock within ${UNBLOCK_TIMEOUT_MS} ms`);
  }

  /** How transaction `t`'s step ended, from what `ctx.transaction` returned or threw. */
  outcome(t: Role, error?: unknown): TxOutcome {
    if (error === undefined) return { status: 'committed' };
    if (error instanceof ScriptedAbort) return { status: 'aborted' };
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    const message = error instanceof Error ? error.message : String(error);
    const failedOn = this.failedOn.get(t);
    const on = failedOn === undefined ? undefined : (this.ops.find((o, i) => this.label(i) === failedOn)?.sql ?? failedOn);
    const returned = this.obs.spans.get(t)?.returned === true;
    if ((code === '40001' || code === '40P01') && (on !== undefined || returned)) return { status: 'failed', code, message, failedOn: on };
    if (code === '40001' || code === '40P01') {
      // Not on a statement of the script and not at COMMIT: the engine's own statements (the fence, or this
      // runner's prelude) failed, which says nothing about the isolation of the script's statements.
      const where = this.obs.spans.has(t) ? 'in the step before or between its statements' : 'before the step function ran (the fence)';
      return { status: 'error', code, message: `${message} — ${where}` };
    }
    return { status: 'error', code: typeof code === 'string' ? code : undefined, message, failedOn: on };
  }

  /** The statements outside any transaction (role 0), each at its turn. */
  async observer(): Promise<void> {
    for (const n of this.turnsOf(0)) {
      const op = this.ops[n]!;
      await this.at(n, 'observer');
      this.obs.rows.set(this.label(n), rowsOf(await this.engine.db.query<Record<string, unknown>>(op.sql!, op.params?.(this.obs) ?? [])));
      this.done(n);
    }
  }
}

const RUNS = new Map<string, Run>();

/**
 * One Hermitage transaction: the workflow waits for the turn of the transaction's first statement (where
 * PostgreSQL takes a REPEATABLE READ / SERIALIZABLE snapshot), then runs the whole transaction as one
 * transactional step at the run's isolation level. A serialization failure is not retried (maxAttempts 1):
 * it reaches the workflow as the step's failure, which the workflow catches and records.
 */
export const hermitageTransaction = defineWorkflow(
  'hermitage-transaction',
  { retry: { maxAttempts: 1 } },
  async (ctx, input: { run: string; role: number }) => {
    const run = RUNS.get(input.run);
    if (!run) throw new PermanentError(`no Hermitage run ${input.run} in this process`);
    const t = input.role as Role;
    let error: unknown;
    try {
      await run.at(run.firstTurn(t), `T${t} (begin)`);
      await ctx.transaction(`T${t}`, (tx) => run.transaction(t, tx), { isolation: run.level, retry: { maxAttempts: 1 } });
    } catch (err) {
      error = err ?? new Error('undefined thrown');
    } finally {
      run.obs.outcome.set(t, run.outcome(t, error));
      run.finished(t);
    }
    return null;
  },
);

async function resetTable(engine: Engine): Promise<void> {
  await engine.db.exec(
    'DROP TABLE IF EXISTS test; CREATE TABLE test (id int PRIMARY KEY, value int); INSERT INTO test (id, value) VALUES (1, 10), (2, 20);',
  );
}

/**
 * Resets `test` to (1,10), (2,20), runs the script with one execution per transaction (a worker of
 * `engine` with hermitageTransaction must be running), and returns what was observed, with the table's
 * final state.
 */
export async function runScript(engine: Engine, name: string, ops: readonly Op[], level: IsolationLevel, mode: Mode): Promise<Observations> {
  await resetTable(engine);
  const id = `${name}/${level}/${Math.random().toString(36).slice(2, 10)}`;
  const run = new Run(id, ops, level, mode, engine);
  RUNS.set(id, run);
  try {
    const handles = await Promise.all(run.roles().map((role) => engine.start(hermitageTransaction, { run: id, role })));
    await Promise.all([...handles.map((h) => h.result({ timeoutMs: 60_000 })), run.observer()]);
    run.obs.final = rowsOf(await engine.db.query<Record<string, unknown>>('SELECT id, value FROM test ORDER BY id'));
    return run.obs;
  } finally {
    RUNS.delete(id);
  }
}
