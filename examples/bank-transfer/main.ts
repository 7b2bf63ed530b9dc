/**
 * Concurrent transfers between a few hot accounts (see bank.ts): each one SERIALIZABLE transactional step,
 * overdrafts rejected by the CHECK constraint, races (40001) retried. Prints the balances before and after,
 * how many transfers were applied and rejected, and how many attempts the races cost.
 *
 *   npx tsx examples/bank-transfer/main.ts                               embedded PGlite in .aries-bank (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/bank-transfer/main.ts    a PostgreSQL server (its bank_* tables are reset)
 *
 * BANK_TRANSFERS (default 200) transfers, BANK_CONCURRENCY (default 8) run at once, BANK_SEED picks them.
 * Exits 0 only if the total is unchanged, no balance is negative, and every transfer was either applied
 * once (its ledger row, its debit and credit) or rejected as an overdraft; 1 otherwise.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine, ExecutionFailedError, type Engine, type ExecutionHandle } from '../../src/index.js';
import { bankTotals, isOverdraftMessage, ledgerBalances, randomTransfers, resetBank, transfer, type TransferResult } from './bank.js';

const ACCOUNTS: Record<string, number> = { alice: 1_000, bob: 1_000, carol: 1_000, dave: 1_000 };

const say = (line = '') => process.stdout.write(`${line}\n`);

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

type Outcome = { kind: 'applied'; result: TransferResult } | { kind: 'rejected'; reason: string } | { kind: 'failed'; reason: string };

async function outcomeOf(handle: ExecutionHandle<TransferResult>): Promise<Outcome> {
  try {
    return { kind: 'applied', result: await handle.result({ timeoutMs: 120_000 }) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return err instanceof ExecutionFailedError && isOverdraftMessage(reason) ? { kind: 'rejected', reason } : { kind: 'failed', reason };
  }
}

function showBalances(label: string, balances: Record<string, number>, total: number): void {
  say(`${label} ${Object.entries(balances).map(([id, b]) => `${id} ${b}`).join(', ')}; total ${total}`);
}

async function run(engine: Engine): Promise<boolean> {
  const count = intFromEnv('BANK_TRANSFERS', 200);
  const concurrency = intFromEnv('BANK_CONCURRENCY', 8);
  const seed = intFromEnv('BANK_SEED', 42);
  await resetBank(engine, ACCOUNTS);
  const before = await bankTotals(engine.db);
  showBalances('before:', before.balances, before.total);

  const prefix = `t${Date.now().toString(36)}`;
  const transfers = randomTransfers({ prefix, count, accounts: Object.keys(ACCOUNTS), maxAmount: 400, seed });
  const worker = engine.worker({ workflows: [transfer], concurrency, pollIntervalMs: 50 });
  await worker.start();
  const t0 = performance.now();
  // The transfer id is the idempotency key: starting the same transfer twice returns the first execution.
  const handles = await Promise.all(transfers.map((t) => engine.start(transfer, t, { idempotencyKey: t.id })));
  const outcomes = await Promise.all(handles.map(outcomeOf));
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop();

  const applied = outcomes.filter((o) => o.kind === 'applied');
  const rejected = outcomes.filter((o) => o.kind === 'rejected');
  const failed = outcomes.filter((o) => o.kind === 'failed');
  const [attempts] = await engine.db.query<{ attempts: number | string }>(
    `SELECT coalesce(sum(s.attempt), 0) AS attempts FROM aries.steps s WHERE s.execution_id = ANY ($1::uuid[]) AND s.step_key = 'transfer'`,
    [handles.map((h) => h.id)],
  );
  const extraAttempts = Number(attempts!.attempts) - transfers.length;
  say(`${transfers.length} transfers at concurrency ${concurrency} in ${seconds.toFixed(2)} s (${(transfers.length / seconds).toFixed(0)}/s):`);
  say(`  applied  ${applied.length}`);
  say(`  rejected ${rejected.length} (overdraft: the CHECK constraint refused the debit; execution FAILED, nothing applied)`);
  say(`  failed otherwise ${failed.length}`);
  say(`  attempts beyond the first: ${extraAttempts} (serialization failures retried)`);
  const firstRejection = rejected[0];
  if (firstRejection?.kind === 'rejected') say(`  e.g. ${firstRejection.reason}`);
  for (const f of failed.slice(0, 5)) if (f.kind === 'failed') say(`  NOT an overdraft: ${f.reason}`);

  const after = await bankTotals(engine.db);
  showBalances('after: ', after.balances, after.total);
  const [ledger] = await engine.db.query<{ rows: number | string }>('SELECT count(*) AS rows FROM bank_transfers WHERE transfer_id LIKE $1', [`${prefix}-%`]);
  const expected = await ledgerBalances(engine.db, ACCOUNTS);
  const ledgerMatches = Object.keys(ACCOUNTS).every((id) => expected[id] === after.balances[id]);
  say(`ledger: ${Number(ledger!.rows)} rows for ${applied.length} applied transfers; balances ${ledgerMatches ? 'match' : 'DO NOT match'} the ledger`);

  const checks: Array<[boolean, string]> = [
    [after.total === before.total, `total unchanged (${before.total} → ${after.total})`],
    [after.negative === 0, 'no negative balance'],
    [failed.length === 0, 'every transfer applied or rejected as an overdraft'],
    [Number(ledger!.rows) === applied.length && ledgerMatches, 'each applied transfer is in the ledger once, and the ledger explains every balance'],
  ];
  for (const [ok, what] of checks) say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  return checks.every(([ok]) => ok);
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  const dataDir = resolve('.aries-bank');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  say(databaseUrl ? 'backend: PostgreSQL server (DATABASE_URL)' : `backend: embedded PGlite in ${dataDir}`);
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    const ok = await run(engine);
    say(ok ? 'OK: no money created or destroyed, no account overdrawn' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
