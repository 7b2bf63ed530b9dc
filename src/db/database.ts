/**
 * The one storage interface the engine talks to. Two adapters implement it (PGlite in-process, and a
 * node-postgres pool for a server) plus a client that reaches an embedded instance held by another
 * process. Everything above this layer is backend-agnostic: the same SQL functions run on both.
 */

import type { Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { ClientQueryConfig, ClientQueryResult } from '../core/client-query.js';

export type BackendKind = 'pglite' | 'postgres' | 'remote';

export interface Queryable {
  /** Runs one statement with $1… parameters and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** A connection inside a transaction: statements, and scripts of several statements. */
export interface Transaction extends Queryable {
  exec(sql: string): Promise<void>;
  /** One statement as node-postgres runs it, its whole result (what a user's `tx.client` returns). */
  run(statement: ClientQueryConfig): Promise<ClientQueryResult<unknown>>;
  /** On the embedded backend, PGlite's own transaction object (what Drizzle's PGlite driver runs on). */
  readonly pglite?: PGliteTransaction;
}

export interface Notification {
  channel: string;
  payload: string;
}

export interface Database extends Queryable {
  readonly kind: BackendKind;
  /** A human-readable name for messages: the data dir, or the server URL without its password. */
  readonly description: string;
  /** Runs a script of several statements (migrations); no parameters. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection; commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. Best effort: callers poll too. */
  listen(channel: string, onNotify: (n: Notification) => void): Promise<() => Promise<void>>;
  /**
   * Makes what has been committed survive a power loss, where the backend does not do so at COMMIT (an
   * embedded data dir: PGlite never fsyncs). Absent where COMMIT itself is durable (a server).
   */
  flushToDisk?(): Promise<void>;
  close(): Promise<void>;
}
