/**
 * The bank-transfer case under crashes: hundreds of concurrent transfers between a few hot accounts
 * (examples/bank-transfer/bank.ts: one SERIALIZABLE transactional step each, durability 'on'), run by
 * worker processes (test/fixtures/bank-worker.ts) that are SIGKILLed at random moments; new workers are
 * started until every execution is final. The first three workers die at the step's commit boundaries
 * instead (ARIES_CRASH_AT: intent committed; statements run, not committed; transaction committed), so
 * those moments are covered on every run, whatever the random kills hit. Then:
 *   - the total balance is unchanged and no balance is negative;
 *   - every transfer was applied exactly once or rejected: COMPLETED executions are exactly the transfer
 *     ids in the ledger (one row each, written by that execution, by the attempt the journal says
 *     completed), and the balances are exactly the initial ones plus the ledger's transfers;
 *   - every FAILED execution is an overdraft, its error naming bank_accounts_balance_check, with a
 *     PERMANENT failure recorded at step "transfer"; every impossible transfer (more than all the money
 *     there is) is one of them;
 *   - zero committed transfers lost: a ledger row without a COMPLETED execution, or the reverse, fails;
 *   - the kills hit running work: some executions were resumed by another worker.
 *
 * On the server several workers run at once and are killed while their peers go on. On PGlite one process
 * at a time may open a data dir, so one worker runs at a time, each started after the previous one died.
 * Kills are timed by progress (a kill when the number of final executions passes a random threshold,
 * after a random delay), so they land in the middle of the run however fast the machine is. The seed is
 * printed; BANK_SIGKILL_SEED=<seed> replays the same transfers and thresholds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import type { Engine } from '../../src/index.js';
import {
  bankTotals,
  isOverdraftMessage,
  ledgerBalances,
  OVERDRAFT_CONSTRAINT,
  randomTransfers,
  resetBank,
  seededRandom,
  transfer,
  type TransferInput,
} from '../../examples/bank-transfer/bank.js';
import { serverEnabled } from '../helpers/backends.js';
import { withEngine } from '../helpers/judging-engine.js';
import { createTestDatabase } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SCRIPT = resolve(ROOT, 'test/fixtures/bank-worker.ts');

const ACCOUNTS: Record<string, number> = { a1: 1_000, a2: 1_000, a3: 1_000, a4: 1_000 };
const TOTAL = Object.values(ACCOUNTS).reduce((a, b) => a + b, 0);
/** Every 10th transfer asks for more than all the accounts hold together: always an overdraft. */
const OVERDRAFT_EVERY = 10;
const IMPOSSIBLE_AMOUNT = TOTAL + 1;

const SEED = Number(process.env.BANK_SIGKILL_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Plan {
  transfers: number;
  /** Worker processes alive at once. */
  parallel: number;
  kills: number;
  /** Workers stopped (SIGSTOP) for pauseMs, then continued: stalled past their lease (server only). */
  pauses: number;
  pauseMs: number;
  /** Each worker's concurrency. */
  concurrency: number;
  timeoutMs: number;
}

interface Child {
  process: ChildProcess;
  pid: number;
  ready: boolean;
  /** Final executions at this child's first progress report (a kill waits for progress beyond it). */
  finalAtStart: number | undefined;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  killedByTest: boolean;
  done: boolean;
  /** It was stopped (SIGSTOP) once, to stall past its lease. */
  paused: boolean;
  /** Set for a worker that kills itself at a crash point: the random kills leave it alone. */
  crashAt: string | undefined;
}

/**
 * The first workers started die at a named crash point of their first transfer (ARIES_CRASH_AT, see
 * src/worker/crash-points.ts), one per point: intent committed / statements run but not committed /
 * transaction committed. The random kills come on top.
 */
const CRASH_POINTS = ['before-step', 'after-step-effect', 'after-step-commit'] as const;

interface RunReport {
  spawned: number;
  killed: number;
  paused: number;
  /** Workers that died at their crash point. */
  crashed: string[];
  /** The seed, the kill thresholds and each kill, for failure messages. */
  log: string[];
}

/** Every child this file started and has not seen exit; killed by PID in afterAll if any is left. */
const live = new Set<Child>();
afterAll(() => {
  for (const c of live) if (c.process.exitCode === null && c.process.signalCode === null) process.kill(c.pid, 'SIGKILL');
});

function spawnWorker(env: Record<string, string>, onEvent: (child: Child, event: Record<string, unknown>) => void): Child {
  const crashAt = env.ARIES_CRASH_AT;
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error('could not start a bank worker process');
  const child: Child = {
    process: proc,
    pid: proc.pid,
    ready: false,
    finalAtStart: undefined,
    stdout: '',
    stderr: '',
    killedByTest: false,
    done: false,
    paused: false,
    crashAt,
    exit: new Promise((done) => proc.on('close', (code, signal) => done({ code, signal }))),
  };
  live.add(child);
  void child.exit.then(() => live.delete(child));
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    child.stdout += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) onEvent(child, JSON.parse(line) as Record<string, unknown>);
  });
  proc.stderr!.on('data', (d: Buffer) => (child.stderr += d.toString()));
  return child;
}

/**
 * Runs worker processes until every execution is final, disturbing them along the way: `plan.kills`
 * SIGKILLs and `plan.pauses` SIGSTOPs (a stalled worker: resumed with SIGCONT after `plan.pauseMs`, longer
 * than its lease, so its executions are taken over meanwhile and its late writes must be refused). The
 * k-th action comes when a worker that has made progress reports at least threshold[k] final executions,
 * after a random 0–60 ms. A killed worker is replaced at once (on PGlite, after it is gone).
 */
async function runWorkersWithKills(env: Record<string, string>, plan: Plan, random: () => number): Promise<RunReport> {
  const kinds = [...Array<'kill'>(plan.kills).fill('kill'), ...Array<'pause'>(plan.pauses).fill('pause')];
  const actions = kinds
    .map((kind) => ({ kind, at: Math.floor(plan.transfers * (0.05 + 0.85 * random())), delayMs: Math.floor(random() * 60) }))
    .sort((a, b) => a.at - b.at);
  const report: RunReport = {
    spawned: 0,
    killed: 0,
    paused: 0,
    crashed: [],
    log: [`seed ${SEED}; ${actions.map((a) => `${a.kind} at ${a.at}`).join(', ')}`],
  };
  const children = new Set<Child>();
  let next = 0;
  let actionPending = false;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  const alive = (child: Child) => child.process.exitCode === null && child.process.signalCode === null;

  const onEvent = (child: Child, event: Record<string, unknown>) => {
    if (event.event === 'ready') child.ready = true;
    if (event.event === 'done') {
      child.done = true;
      if (child.paused) report.log.push(`pid ${child.pid} (stalled) finished; worker stats ${JSON.stringify(event.stats)}`);
      finished = true;
      poke();
    }
    if (event.event !== 'progress' || child.crashAt !== undefined) return;
    const final = Number(event.final);
    child.finalAtStart ??= final;
    const action = actions[next];
    if (actionPending || !action || final < action.at || final <= child.finalAtStart) return;
    actionPending = true;
    next++;
    setTimeout(() => {
      actionPending = false;
      if (!alive(child)) return; // it finished first
      if (action.kind === 'kill') {
        child.killedByTest = true;
        process.kill(child.pid, 'SIGKILL');
        report.killed++;
        report.log.push(`kill: pid ${child.pid} at ${final}+ final executions, after ${action.delayMs} ms`);
        return;
      }
      process.kill(child.pid, 'SIGSTOP');
      child.paused = true;
      report.paused++;
      report.log.push(`pause: pid ${child.pid} stopped for ${plan.pauseMs} ms at ${final}+ final executions, after ${action.delayMs} ms`);
      setTimeout(() => {
        if (alive(child)) process.kill(child.pid, 'SIGCONT');
      }, plan.pauseMs);
    }, action.delayMs);
  };

  const deadline = Date.now() + plan.timeoutMs;
  while (!finished || children.size > 0) {
    if (failure) break;
    if (Date.now() > deadline) {
      failure = new Error(`not every execution was final after ${plan.timeoutMs} ms\n${report.log.join('\n')}`);
      break;
    }
    // Replace the dead: keep `parallel` workers running until one of them has found nothing left to run.
    while (!finished && children.size < plan.parallel) {
      const crashAt = CRASH_POINTS[report.spawned];
      const child = spawnWorker(crashAt ? { ...env, ARIES_CRASH_AT: `${crashAt}:transfer` } : env, onEvent);
      report.spawned++;
      children.add(child);
      void child.exit.then(({ code, signal }) => {
        children.delete(child);
        if (crashAt && signal === 'SIGKILL' && child.stderr.includes(`crash point ${crashAt}:transfer reached`)) {
          report.crashed.push(crashAt);
          report.log.push(`pid ${child.pid} died at its crash point ${crashAt}:transfer`);
        } else if (!child.killedByTest && (code !== 0 || !child.done)) {
          failure ??= new Error(`worker ${child.pid} exited with ${signal ?? code} without being killed:\n${child.stderr}\n${child.stdout.slice(-2_000)}`);
        }
        poke();
      });
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 200);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  for (const c of children) {
    c.killedByTest = true;
    process.kill(c.pid, 'SIGKILL');
  }
  if (failure) throw failure;
  return report;
}

interface ExecutionRow {
  id: string;
  status: string;
  input: TransferInput;
  output: { status: string; id: string; attempt: number } | null;
  error: { message?: string } | null;
  claim_count: number;
}

/** Starts every transfer (the transfer id as idempotency key) with no worker running. */
async function startTransfers(engine: Engine, transfers: TransferInput[]): Promise<void> {
  await resetBank(engine, ACCOUNTS);
  for (const t of transfers) await engine.start(transfer, t, { idempotencyKey: t.id });
}

/** Everything the assertions judge, read once every worker is gone. */
async function judge(engine: Engine, transfers: TransferInput[], report: RunReport): Promise<void> {
  const context = report.log.join('\n');
  const executions = await engine.db.query<ExecutionRow>(
    `SELECT id, status, input, output, error, claim_count FROM aries.executions WHERE workflow_name = $1`,
    [transfer.name],
  );
  expect(executions, context).toHaveLength(transfers.length);
  const notFinal = executions.filter((e) => e.status !== 'COMPLETED' && e.status !== 'FAILED');
  expect(notFinal.map((e) => `${e.input.id} ${e.status}`), `every execution is final\n${context}`).toEqual([]);

  // Money: conserved, never negative.
  const totals = await bankTotals(engine.db);
  expect(totals.total, `total balance unchanged\n${context}`).toBe(TOTAL);
  expect(totals.negative, 'no negative balance').toBe(0);

  // Exactly once: the ledger holds one row per COMPLETED execution and nothing else.
  const ledger = await engine.db.query<{ transfer_id: string; execution_id: string; attempt: number; amount: number }>(
    'SELECT transfer_id, execution_id, attempt, amount FROM bank_transfers',
  );
  const completed = executions.filter((e) => e.status === 'COMPLETED');
  const failed = executions.filter((e) => e.status === 'FAILED');
  const ledgerById = new Map(ledger.map((r) => [r.transfer_id, r]));
  expect(ledgerById.size, 'one ledger row per transfer id').toBe(ledger.length);
  const lost = completed.filter((e) => !ledgerById.has(e.input.id)).map((e) => e.input.id);
  expect(lost, `COMPLETED executions without their ledger row (a committed transfer lost)\n${context}`).toEqual([]);
  const completedIds = new Set(completed.map((e) => e.input.id));
  const orphans = ledger.filter((r) => !completedIds.has(r.transfer_id)).map((r) => r.transfer_id);
  expect(orphans, `ledger rows whose execution is not COMPLETED (applied but not recorded)\n${context}`).toEqual([]);
  const stepAttempts = new Map(
    (
      await engine.db.query<{ execution_id: string; attempt: number; status: string }>(
        `SELECT s.execution_id, s.attempt, s.status FROM aries.steps s JOIN aries.executions e ON e.id = s.execution_id
          WHERE e.workflow_name = $1 AND s.step_key = 'transfer'`,
        [transfer.name],
      )
    ).map((s) => [s.execution_id, s]),
  );
  for (const e of completed) {
    const row = ledgerById.get(e.input.id)!;
    expect(row.execution_id, `ledger row of ${e.input.id} written by its execution`).toBe(e.id);
    expect(Number(row.amount)).toBe(e.input.amount);
    expect(e.output, `output of ${e.input.id}`).toMatchObject({ status: 'applied', id: e.input.id, attempt: Number(row.attempt) });
    const step = stepAttempts.get(e.id);
    expect(step, `the transfer step of ${e.input.id} completed by the attempt that wrote the ledger row`).toMatchObject({
      status: 'COMPLETED',
      attempt: Number(row.attempt),
    });
  }
  // …and the balances are exactly what the ledger explains: no debit or credit without its row, none twice.
  expect(totals.balances, `balances = initial + ledger\n${context}`).toEqual(await ledgerBalances(engine.db, ACCOUNTS));

  // Rejections: every FAILED execution is an overdraft refused by the CHECK constraint, recorded PERMANENT.
  const notOverdrafts = failed.filter((e) => !isOverdraftMessage(e.error?.message)).map((e) => `${e.input.id}: ${e.error?.message}`);
  expect(notOverdrafts, `FAILED executions that are not overdrafts\n${context}`).toEqual([]);
  const permanent = await engine.db.query<{ execution_id: string }>(
    `SELECT DISTINCT f.execution_id FROM aries.failures f JOIN aries.executions e ON e.id = f.execution_id
      WHERE e.workflow_name = $1 AND e.status = 'FAILED' AND f.failure_type = 'PERMANENT' AND f.step_key = 'transfer'
        AND f.failure_message LIKE $2`,
    [transfer.name, `%${OVERDRAFT_CONSTRAINT}%`],
  );
  expect(permanent.length, 'each rejection recorded as a PERMANENT failure naming the constraint').toBe(failed.length);
  const impossible = transfers.filter((t) => t.amount === IMPOSSIBLE_AMOUNT).map((t) => t.id);
  const failedIds = new Set(failed.map((e) => e.input.id));
  expect(impossible.filter((id) => !failedIds.has(id)), 'every impossible transfer rejected').toEqual([]);
  expect(completed.length + failed.length).toBe(transfers.length);

  // The kills hit running work: a dead worker's executions were resumed by another one.
  expect(report.killed, context).toBeGreaterThanOrEqual(1);
  expect([...report.crashed].sort(), `every crash point reached\n${context}`).toEqual([...CRASH_POINTS].sort());
  expect(executions.filter((e) => e.claim_count > 1).length, `some executions were resumed after a kill\n${context}`).toBeGreaterThan(0);
  console.log(
    `[bank-transfer sigkill] ${report.spawned} workers started, ${report.crashed.length} died at crash points, ${report.killed} killed at random, ` +
      `${report.paused} stalled; ` +
      `${completed.length} applied, ${failed.length} rejected; ` +
      `${executions.filter((e) => e.claim_count > 1).length} executions resumed by another worker; ${context}`,
  );
}

const transfersFor = (n: number, label: string) =>
  randomTransfers({ prefix: label, count: n, accounts: Object.keys(ACCOUNTS), maxAmount: 400, seed: SEED, overdraftEvery: OVERDRAFT_EVERY, impossibleAmount: IMPOSSIBLE_AMOUNT });

describe('bank transfers under SIGKILL [pglite]', () => {
  // No pauses: a stopped process would keep the data dir, and with it every execution, to itself.
  const plan: Plan = { transfers: 100, parallel: 1, kills: 4, pauses: 0, pauseMs: 0, concurrency: 4, timeoutMs: 100_000 };
  test(`${plan.transfers} transfers between 4 hot accounts; one worker process at a time, 3 killed at crash points and ${plan.kills} at random`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'aries-bank-sigkill-'));
    try {
      const dataDir = join(root, 'data');
      const transfers = transfersFor(plan.transfers, 'p');
      // The parent opens the data dir only while no worker process holds it: before and after them.
      await withEngine({ dataDir }, (engine) => startTransfers(engine, transfers));
      const env = { BANK_WORKER_DATA_DIR: dataDir, BANK_WORKER_CONCURRENCY: String(plan.concurrency), BANK_WORKER_LEASE_MS: '1000' };
      const report = await runWorkersWithKills(env, plan, seededRandom(SEED + 1));
      await withEngine({ dataDir }, (engine) => judge(engine, transfers, report));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 150_000);
});

(serverEnabled() ? describe : describe.skip)('bank transfers under SIGKILL [postgres]', () => {
  const plan: Plan = { transfers: 300, parallel: 3, kills: 6, pauses: 2, pauseMs: 3_000, concurrency: 4, timeoutMs: 100_000 };
  test(`${plan.transfers} transfers between 4 hot accounts; ${plan.parallel} worker processes at once, 3 killed at crash points, ${plan.kills} at random, ${plan.pauses} stalled past their lease`, async () => {
    const db = await createTestDatabase('bank_sigkill');
    try {
      const transfers = transfersFor(plan.transfers, 's');
      await withEngine({ databaseUrl: db.url }, async (engine) => {
        await startTransfers(engine, transfers);
        const env = { BANK_WORKER_DATABASE_URL: db.url, BANK_WORKER_CONCURRENCY: String(plan.concurrency), BANK_WORKER_LEASE_MS: '1000' };
        const report = await runWorkersWithKills(env, plan, seededRandom(SEED + 2));
        await judge(engine, transfers, report);
        expect(report.paused, report.log.join('\n')).toBeGreaterThanOrEqual(1);
      });
    } finally {
      await db.drop();
    }
  }, 150_000);
});
