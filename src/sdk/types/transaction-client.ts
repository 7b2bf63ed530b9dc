/**
 * The public types of `tx.client`: the step's transaction as a node-postgres client, on both backends, so
 * query builders and ORMs written for node-postgres run their statements in it (Drizzle's node-postgres
 * driver takes it as a client; Kysely's PostgresDialect takes it as a pool whose connection it is).
 */
import type { QueryOptions, Results } from '@electric-sql/pglite';
import type { ClientQueryConfig, ClientQueryResult } from '../../core/client-query.js';

export type { ClientField, ClientQueryConfig, ClientQueryResult } from '../../core/client-query.js';

/**
 * The step's transaction, as a node-postgres client: every statement runs in the transaction the step's
 * completion commits in. Statements that would end or begin a transaction (BEGIN, COMMIT, ROLLBACK, …)
 * are refused with InvalidDefinitionError: the engine owns it; SAVEPOINT and ROLLBACK TO are allowed.
 * Valid only while the step's function runs.
 */
export interface TransactionClient {
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<ClientQueryResult<Row>>;
  query<Row = Record<string, unknown>>(config: ClientQueryConfig, values?: readonly unknown[]): Promise<ClientQueryResult<Row>>;
  /** A cursor (Kysely's `stream()`) is refused (it throws): rows come back whole. */
  query<Cursor extends { read(rowCount: number): Promise<unknown[]>; close(): Promise<void> }>(cursor: Cursor): Cursor;
  /** As a pool: resolves to this same client (Kysely's PostgresDialect takes a pool). */
  connect(): Promise<TransactionClient>;
  /** As a pool's client: nothing to give back, the engine ends the connection's transaction. */
  release(destroy?: boolean): void;
  /** As a pool: nothing to close. */
  end(): Promise<void>;
}

/**
 * On the embedded backend, the step's transaction as PGlite's own transaction object, so Drizzle's PGlite
 * driver (drizzle-orm/pglite) runs on it: values come back as PGlite parses them. The same refusals as
 * `TransactionClient`; `transaction()` (Drizzle's db.transaction) is refused as BEGIN is.
 */
export interface PGliteTransactionClient {
  query<Row>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<Row>>;
  exec(sql: string, options?: QueryOptions): Promise<Results[]>;
  /** Refused (it throws): the step is already one transaction; Drizzle's nested tx.transaction() uses savepoints. */
  transaction(fn: (tx: never) => Promise<unknown>): Promise<never>;
}
