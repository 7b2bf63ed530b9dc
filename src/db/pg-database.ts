/**
 * The server backend: any PostgreSQL >= 14 through a node-postgres pool. Many workers on many machines
 * share one database; it is the distributed engine. Statements run at READ COMMITTED unless a caller
 * says otherwise inside its own transaction.
 */
import pg from 'pg';
import { DatabaseUnreachableError } from '../errors.js';
import { isNetworkError } from '../core/transient-errors.js';
import type { ClientQueryResult } from '../core/client-query.js';
import type { Database, Notification, Transaction } from './database.js';
import { redactUrl } from './database-url.js';

// int8 (lsn, lease_token) and numeric come back as numbers, as PGlite returns them. Values above 2^53
// would lose precision; LSNs and tokens stay far below that.
const int8Parser = (value: string) => Number(value);

export interface PgDatabaseOptions {
  url: string;
  poolSize?: number;
  /** Passed to every connection (e.g. application_name). */
  applicationName?: string;
}

export class PgDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly url: string;
  private listener: Promise<pg.Client> | undefined;
  /** The connected listening client (at most one), for telling a current drop from a stale one. */
  private readonly listening = new Set<pg.Client>();
  private readonly listeners = new Map<string, Set<(n: Notification) => void>>();
  private closed = false;

  private constructor(url: string, pool: pg.Pool) {
    this.url = url;
    this.pool = pool;
    this.description = redactUrl(url);
    // An idle client that loses its connection (server restart, network cut) emits 'error' on the pool;
    // without a handler that would crash the process. The pool drops the client; the next query reconnects.
    this.pool.on('error', () => {});
  }

  static async connect(options: PgDatabaseOptions): Promise<PgDatabase> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 20,
      application_name: options.applicationName ?? 'aries',
      connectionTimeoutMillis: 10_000,
      // A half-open connection (a peer or network that vanished) is noticed by TCP keepalive instead of
      // hanging a write until the kernel gives up.
      keepAlive: true,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 ? int8Parser : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    const db = new PgDatabase(options.url, pool);
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      const reason = err instanceof Error ? err.message : String(err);
      throw new DatabaseUnreachableError(`cannot connect to PostgreSQL at ${db.description}: ${reason}`, err);
    }
    return db;
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    const result = await this.pool.query(sql, params as unknown[]);
    return result.rows as Row[];
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    // A checked-out client has no pool listener: a connection that drops while the transaction waits on
    // the caller (between statements) would emit an unhandled 'error' and end the process. The next
    // statement fails instead, and the client is not returned to the pool.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    let committing = false;
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <Row>(sql: string, params: readonly unknown[] = []) =>
          (await client.query(sql, params as unknown[])).rows as Row[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
        run: async (statement) =>
          (await client.query({ ...statement, values: statement.values as unknown[] | undefined } as pg.QueryConfig)) as ClientQueryResult<unknown>,
      });
      committing = true;
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (committing) {
        // A COMMIT that failed ended the transaction (the server rolled it back, e.g. a serialization
        // failure or a deferred constraint); a ROLLBACK now would only log "there is no transaction in
        // progress". If the connection itself failed, nobody knows its state: it is not reused.
        if (isNetworkError(err)) broken = true;
        throw err;
      }
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone; do not return it to the pool
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * LISTEN on one dedicated connection shared by every channel. When that connection drops, it is
   * re-established with backoff and every channel is listened to again; meanwhile callers' polling
   * finds the work, so a gap only delays it.
   */
  async listen(channel: string, onNotify: (n: Notification) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(onNotify);
    const client = await this.listenerClient();
    if (set.size === 1) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      const current = this.listeners.get(channel);
      current?.delete(onNotify);
      if (current && current.size === 0 && this.listener && !this.closed) {
        this.listeners.delete(channel);
        // Not awaited: nothing depends on the reply, and a listener connection in trouble must not hold
        // up a worker's shutdown (stray notifications find no handler and are dropped).
        void this.listener.then((c) => c.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`)).catch(() => {});
      }
    };
  }

  /** The listening connection; concurrent callers share one connection attempt. */
  private listenerClient(): Promise<pg.Client> {
    this.listener ??= this.connectListener();
    return this.listener;
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'aries-listener', keepAlive: true });
    const dropped = () => {
      if (!this.listening.has(client)) return;
      this.listening.delete(client);
      this.listener = undefined;
      client.end().catch(() => {});
      if (!this.closed && this.listeners.size > 0) this.scheduleRelisten();
    };
    client.on('notification', (msg) => {
      for (const fn of this.listeners.get(msg.channel) ?? []) fn({ channel: msg.channel, payload: msg.payload ?? '' });
    });
    client.on('error', dropped);
    client.on('end', dropped);
    try {
      await client.connect();
      this.listening.add(client);
      for (const channel of this.listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      this.listening.delete(client);
      this.listener = undefined;
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  }

  private relistenDelayMs = 100;

  private scheduleRelisten(): void {
    const timer = setTimeout(() => {
      if (this.closed || this.listener) return;
      this.listenerClient().then(
        () => (this.relistenDelayMs = 100),
        () => {
          this.relistenDelayMs = Math.min(this.relistenDelayMs * 2, 10_000);
          this.scheduleRelisten();
        },
      );
    }, this.relistenDelayMs);
    timer.unref();
  }

  /** True when the LISTEN connection is up. */
  get isListening(): boolean {
    return this.listening.size > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    const client = await listener?.catch(() => undefined);
    if (client) this.listening.delete(client);
    await client?.end().catch(() => {});
    await this.pool.end();
  }
}
