/**
 * What a transactional step's function (or a compensation run in a transaction) is given to reach the
 * application's tables: `query` (rows) and `client` (node-postgres's shape, for Kysely and Drizzle), both
 * on the engine's transaction. Neither lets a statement end or restart that transaction: a COMMIT would
 * make the writes durable without the record that the step ran (so it would run again), a ROLLBACK would
 * drop the row lock that fences the lease. Such statements are refused before they are sent.
 * Once the function has returned (or thrown), both refuse every statement: the transaction is the
 * engine's again, to record the outcome in or to roll back.
 */
import { transactionControlIn } from '../../core/transaction-control.js';
import type { ClientQueryConfig, ClientQueryResult } from '../../core/client-query.js';
import type { Transaction } from '../../db/database.js';
import { translateDatabaseError } from '../../db/sqlstate-errors.js';
import { InvalidDefinitionError } from '../../errors.js';
import type { PGliteTransactionClient, TransactionClient } from '../../sdk/types/transaction-client.js';
import type { TransactionContext } from '../../sdk/types/workflow-context.js';

export interface TransactionStatements {
  query: TransactionContext['query'];
  client: TransactionClient;
  pglite: PGliteTransactionClient | undefined;
  /**
   * The first refusal of this attempt. Query builders wrap a driver's errors in their own (Drizzle's
   * "Failed query: begin"), so the step fails with this instead: the programmer error, PERMANENT.
   */
  readonly refused: InvalidDefinitionError | undefined;
  /** Called when the user's function is done: later statements are refused. */
  close(): void;
}

/** `call` names the caller in messages: `ctx.transaction("pay")`, `the compensation of step "pay"`. */
export function transactionStatements(tx: Transaction, call: string): TransactionStatements {
  let open = true;
  let refused: InvalidDefinitionError | undefined;
  const refuse = (message: string): never => {
    const error = new InvalidDefinitionError(`${call}: ${message}`);
    refused ??= error;
    throw error;
  };
  const check = (text: unknown) => {
    if (typeof text !== 'string') refuse(`a statement must be a string of SQL, got ${typeof text}`);
    if (!open) refuse('a statement was sent after the function returned; await every statement inside it');
    const control = transactionControlIn(text as string);
    if (control !== undefined) {
      refuse(
        `${control} is refused: the engine owns this transaction and commits it together with the step's record ` +
          '(return to commit, throw to roll back; SAVEPOINT and ROLLBACK TO SAVEPOINT are allowed)',
      );
    }
  };
  const query = async <Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> => {
    check(sql);
    try {
      return await tx.query<Row>(sql, params);
    } catch (err) {
      throw translateDatabaseError(err);
    }
  };
  const client = new StepTransactionClient(async (statement) => {
    check(statement.text);
    try {
      return await tx.run(statement);
    } catch (err) {
      throw translateDatabaseError(err);
    }
  });
  const raw = tx.pglite;
  const pglite: PGliteTransactionClient | undefined = raw && {
    query: async (sql, params, options) => {
      check(sql);
      return raw.query(sql, params, options);
    },
    exec: async (sql, options) => {
      check(sql);
      return raw.exec(sql, options);
    },
    transaction: async () => {
      check('BEGIN');
      throw new Error('unreachable');
    },
  };
  return {
    query,
    client,
    pglite,
    get refused() {
      return refused;
    },
    close: () => {
      open = false;
    },
  };
}

/**
 * node-postgres's client surface over one function that runs a statement. A class, not an object literal:
 * Drizzle's drizzle() reads a plain object as its config object, not as a client.
 */
class StepTransactionClient implements TransactionClient {
  readonly #run: (statement: ClientQueryConfig) => Promise<ClientQueryResult<unknown>>;

  constructor(run: (statement: ClientQueryConfig) => Promise<ClientQueryResult<unknown>>) {
    this.#run = run;
  }

  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<ClientQueryResult<Row>>;
  query<Row = Record<string, unknown>>(config: ClientQueryConfig, values?: readonly unknown[]): Promise<ClientQueryResult<Row>>;
  query<Cursor extends { read(rowCount: number): Promise<unknown[]>; close(): Promise<void> }>(cursor: Cursor): Cursor;
  query(first: unknown, values?: readonly unknown[]): Promise<ClientQueryResult<unknown>> | never {
    if (typeof first === 'object' && first !== null && typeof (first as { read?: unknown }).read === 'function') {
      throw new InvalidDefinitionError('tx.client: cursors (streaming) are not supported in a transactional step; query the rows whole');
    }
    const statement: ClientQueryConfig = typeof first === 'string' ? { text: first } : { ...(first as ClientQueryConfig) };
    if (values !== undefined) statement.values = values;
    return this.#run(statement);
  }

  async connect(): Promise<TransactionClient> {
    return this;
  }

  release(): void {}

  async end(): Promise<void> {}
}
