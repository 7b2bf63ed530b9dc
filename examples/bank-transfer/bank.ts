/**
 * The bank-transfer case: money moves between accounts in ONE transactional step, at SERIALIZABLE, with
 * durability 'on' (synchronous_commit = on on a server; a host fsync of PGlite's WAL when embedded).
 *
 *   bank_accounts   (id, balance CHECK (balance >= 0))  the database refuses an overdraft itself
 *   bank_transfers  one ledger row per APPLIED transfer, keyed by the transfer id (its primary key)
 *
 * The debit, the credit, the ledger row and the step's completion commit in one transaction, so a transfer
 * is applied exactly once or not at all, whatever crashes: a worker killed before the COMMIT leaves nothing
 * behind and the transfer runs again on another worker; one killed after it leaves the completion in the
 * journal, and the resuming worker replays it instead of running it again.
 *
 * Outcomes, as chosen for this example:
 *   applied    the execution ends COMPLETED with { status: 'applied', … }, and the ledger has its row.
 *   rejected   an overdraft: the debit violates bank_accounts_balance_check (SQLSTATE 23514). The workflow's
 *              classifier calls it PERMANENT (no retry can create money), the transaction is rolled back, and
 *              the execution ends FAILED; the failure is recorded (type PERMANENT, step "transfer") and
 *              `handle.result()` rejects with an ExecutionFailedError whose message names the constraint.
 *              So COMPLETED ⇔ a ledger row, and FAILED ⇔ nothing applied.
 *   retried    a serialization failure (40001) or a deadlock (40P01) — two transfers raced for a hot account —
 *              retries the whole step after a short jittered backoff, up to `retry.maxAttempts`.
 *
 * Why FAILED rather than a COMPLETED execution returning { status: 'rejected' }: the overdraft aborts the
 * step's transaction, so nothing of it can commit; ending FAILED keeps "COMPLETED" meaning "the money moved",
 * and the reason stays in the failure record where `aries failures` shows it. The automatic recovery sweep
 * leaves PERMANENT failures alone; `aries recover <id>` runs a rejected transfer again (after a deposit).
 *
 * In your own project, import from 'aries' instead of '../../src/index.js'.
 */
import {
  defineWorkflow,
  PermanentError,
  type Durability,
  type Engine,
  type TransactionContext,
  type Workflow,
  type WorkflowOptions,
} from '../../src/index.js';

/** What the read helpers need: an engine's `db`, or a transaction. */
type Queryable = Pick<Engine['db'], 'query'>;

export interface TransferInput {
  /** The transfer's id: the ledger's key, and the idempotency key to start it with. */
  id: string;
  from: string;
  to: string;
  /** In cents, a positive integer. */
  amount: number;
}

export interface TransferResult {
  status: 'applied';
  id: string;
  from: string;
  to: string;
  amount: number;
  /** The balances right after this transfer, as its transaction saw them. */
  fromBalance: number;
  toBalance: number;
  /** The step attempt that committed (1 unless a race or a crash made it run again). */
  attempt: number;
}

export const OVERDRAFT_CONSTRAINT = 'bank_accounts_balance_check';

export const BANK_DDL = `
  CREATE TABLE IF NOT EXISTS bank_accounts (
    id      text PRIMARY KEY,
    balance integer NOT NULL CONSTRAINT ${OVERDRAFT_CONSTRAINT} CHECK (balance >= 0)
  );
  CREATE TABLE IF NOT EXISTS bank_transfers (
    transfer_id  text PRIMARY KEY,
    execution_id uuid NOT NULL UNIQUE,
    attempt      integer NOT NULL,
    from_account text NOT NULL REFERENCES bank_accounts (id),
    to_account   text NOT NULL REFERENCES bank_accounts (id),
    amount       integer NOT NULL CHECK (amount > 0),
    applied_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (from_account <> to_account)
  );`;

/** The SQLSTATE of a database error (node-postgres and PGlite both set `code`), if it is one. */
function sqlstate(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** A debit that would take an account below zero: bank_accounts_balance_check refused it (23514). */
export function isOverdraft(err: unknown): boolean {
  if (sqlstate(err) !== '23514') return false;
  const { constraint, message } = err as { constraint?: unknown; message?: unknown };
  return constraint === OVERDRAFT_CONSTRAINT || (typeof message === 'string' && message.includes(`"${OVERDRAFT_CONSTRAINT}"`));
}

/** Whether a stored execution error (executions.error, or ExecutionFailedError's message) is an overdraft. */
export function isOverdraftMessage(message: string | undefined): boolean {
  return message !== undefined && message.includes(`violates check constraint "${OVERDRAFT_CONSTRAINT}"`);
}

/** No such account: retrying will not create it (`retryable: false` makes it PERMANENT). */
export class UnknownAccountError extends Error {
  readonly retryable = false;
  constructor(account: string) {
    super(`no account "${account}"`);
    this.name = 'UnknownAccountError';
  }
}

/** The step: debit, credit and the ledger row, in the step's own SERIALIZABLE transaction. */
async function applyTransfer(tx: TransactionContext, input: TransferInput): Promise<TransferResult> {
  // Both accounts are updated in id order, so two opposite transfers never wait for each other's row
  // locks (no deadlock); SERIALIZABLE turns every other race into a 40001, which retries the step.
  const legs = [
    { account: input.from, delta: -input.amount },
    { account: input.to, delta: input.amount },
  ].sort((a, b) => (a.account < b.account ? -1 : 1));
  const after = new Map<string, number>();
  for (const { account, delta } of legs) {
    const [row] = await tx.query<{ balance: number }>('UPDATE bank_accounts SET balance = balance + $2 WHERE id = $1 RETURNING balance', [account, delta]);
    if (!row) throw new UnknownAccountError(account);
    after.set(account, Number(row.balance));
  }
  await tx.query(
    'INSERT INTO bank_transfers (transfer_id, execution_id, attempt, from_account, to_account, amount) VALUES ($1, $2, $3, $4, $5, $6)',
    [input.id, tx.executionId, tx.attempt, input.from, input.to, input.amount],
  );
  return {
    status: 'applied',
    id: input.id,
    from: input.from,
    to: input.to,
    amount: input.amount,
    fromBalance: after.get(input.from)!,
    toBalance: after.get(input.to)!,
    attempt: tx.attempt,
  };
}

/**
 * The transfer workflow. `durability` is 'on' for the example and the tests; the benchmark also defines
 * an 'off' variant (under another name) to show what the synchronous commit costs.
 */
export function transferWorkflow(options: { name?: string; durability?: Durability } = {}): Workflow<TransferInput, TransferResult> {
  const workflowOptions: WorkflowOptions = {
    durability: options.durability ?? 'on',
    // Races for a hot account are expected: many short, jittered retries rather than a few long ones.
    retry: { maxAttempts: 100, initialDelayMs: 2, maxDelayMs: 100, backoff: 'exponential', jitter: 'full' },
    // An integrity constraint violation (SQLSTATE class 23) fails the same way on every attempt: the
    // overdraft (23514 on bank_accounts_balance_check) above all, or a transfer id already in the ledger.
    classify: (err) => (isOverdraft(err) || sqlstate(err)?.startsWith('23') ? 'PERMANENT' : undefined),
  };
  return defineWorkflow<TransferInput, TransferResult>(options.name ?? 'bank-transfer', workflowOptions, async (ctx, input) => {
    // Deterministic checks of the input, outside any step: an error here fails the execution at once.
    if (!Number.isInteger(input.amount) || input.amount <= 0) {
      throw new PermanentError(`transfer ${input.id}: the amount must be a positive integer, got ${input.amount}`);
    }
    if (input.from === input.to) throw new PermanentError(`transfer ${input.id}: from and to are the same account "${input.from}"`);
    return ctx.transaction('transfer', (tx) => applyTransfer(tx, input), { isolation: 'serializable' });
  });
}

export const transfer = transferWorkflow();

/** Creates the tables (if missing) and sets the accounts to `balances`, emptying the ledger. */
export async function resetBank(engine: Engine, balances: Record<string, number>): Promise<void> {
  await engine.db.exec(BANK_DDL);
  await engine.db.transaction(async (tx) => {
    await tx.query('DELETE FROM bank_transfers');
    await tx.query('DELETE FROM bank_accounts');
    for (const [id, balance] of Object.entries(balances)) {
      await tx.query('INSERT INTO bank_accounts (id, balance) VALUES ($1, $2)', [id, balance]);
    }
  });
}

export interface BankTotals {
  total: number;
  accounts: number;
  negative: number;
  balances: Record<string, number>;
}

export async function bankTotals(db: Queryable): Promise<BankTotals> {
  const rows = await db.query<{ id: string; balance: number }>('SELECT id, balance FROM bank_accounts ORDER BY id');
  const balances = Object.fromEntries(rows.map((r) => [r.id, Number(r.balance)]));
  const values = Object.values(balances);
  return {
    total: values.reduce((a, b) => a + b, 0),
    accounts: values.length,
    negative: values.filter((b) => b < 0).length,
    balances,
  };
}

/**
 * The balances the ledger accounts for: `initial` plus every applied transfer. Equal to the stored
 * balances exactly when every debit and credit that happened has its one ledger row (nothing applied
 * twice, nothing applied without its row).
 */
export async function ledgerBalances(db: Queryable, initial: Record<string, number>): Promise<Record<string, number>> {
  const rows = await db.query<{ from_account: string; to_account: string; amount: number }>(
    'SELECT from_account, to_account, amount FROM bank_transfers',
  );
  const balances = { ...initial };
  for (const r of rows) {
    balances[r.from_account] = (balances[r.from_account] ?? 0) - Number(r.amount);
    balances[r.to_account] = (balances[r.to_account] ?? 0) + Number(r.amount);
  }
  return balances;
}

/** A deterministic pseudo-random sequence (mulberry32), so a run of transfers can be repeated from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` transfers between `accounts` (never from an account to itself), amounts 1…maxAmount; every
 * `overdraftEvery`-th one (if set) asks for more than all the accounts hold, so it is always rejected.
 */
export function randomTransfers(
  options: { prefix: string; count: number; accounts: readonly string[]; maxAmount: number; seed: number; overdraftEvery?: number; impossibleAmount?: number },
): TransferInput[] {
  const random = seededRandom(options.seed);
  const pick = () => options.accounts[Math.floor(random() * options.accounts.length)]!;
  return Array.from({ length: options.count }, (_, i) => {
    const from = pick();
    let to = pick();
    while (to === from) to = pick();
    const impossible = options.overdraftEvery !== undefined && (i + 1) % options.overdraftEvery === 0;
    const amount = impossible ? options.impossibleAmount! : 1 + Math.floor(random() * options.maxAmount);
    return { id: `${options.prefix}-${String(i).padStart(5, '0')}`, from, to, amount };
  });
}
