/**
 * The embedded backend: PGlite (PostgreSQL compiled to WASM) in this process. PGlite runs one backend in
 * single-user mode behind its own mutex, so every query and transaction here runs one at a time; a query
 * issued from outside an open transaction waits for it. It runs with fsync off and never calls fsync on
 * Node: committed data survives a killed process (it is in the OS page cache) but not a power loss, unless
 * the caller asks for flushToDisk() (a host-side fsync of the WAL, see group-fsync.ts) after the commit.
 * PGlite keeps no lock on its directory, so the caller must hold a DataDirLock before opening one.
 */
import { PGlite } from '@electric-sql/pglite';
import type { ClientField, ClientQueryConfig, ClientQueryResult } from '../core/client-query.js';
import type { Database, Notification, Transaction } from './database.js';
import { GroupFsync } from './group-fsync.js';

export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly description: string;
  private readonly pg: PGlite;
  /** Host-side fsync of the WAL for durable commits; undefined in memory. */
  readonly fsync: GroupFsync | undefined;

  private constructor(pg: PGlite, description: string, dataDir: string | undefined) {
    this.pg = pg;
    this.description = description;
    this.fsync = dataDir === undefined ? undefined : new GroupFsync(dataDir);
    if (this.fsync) {
      const fsync = this.fsync;
      this.flushToDisk = () => fsync.request();
    }
  }

  flushToDisk?: () => Promise<void>;

  /** Opens a data directory, or an in-memory instance when `dataDir` is undefined. */
  static async open(dataDir: string | undefined): Promise<PGliteDatabase> {
    const pg = await PGlite.create(dataDir === undefined ? {} : { dataDir });
    return new PGliteDatabase(pg, dataDir === undefined ? 'in-memory PGlite' : `PGlite at ${dataDir}`, dataDir);
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    const result = await this.pg.query<Row>(sql, params as unknown[]);
    return result.rows;
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (tx) =>
      fn({
        query: async <Row>(sql: string, params: readonly unknown[] = []) =>
          (await tx.query<Row>(sql, params as unknown[])).rows,
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
        pglite: tx,
        run: async (statement) => {
          const result = await tx.query<unknown>(statement.text, (statement.values ?? []) as unknown[], {
            ...(statement.rowMode === 'array' ? { rowMode: 'array' as const } : {}),
            ...(statement.types ? { parsers: this.parsersOf(statement.types) } : {}),
          });
          return {
            command: result.command ?? '',
            rowCount: result.rowCount ?? null,
            rows: result.rows,
            fields: result.fields.map((f): ClientField => ({
              name: f.name,
              dataTypeID: f.dataTypeID,
              tableID: 0,
              columnID: 0,
              dataTypeSize: -1,
              dataTypeModifier: -1,
              format: 'text',
            })),
          } satisfies ClientQueryResult<unknown>;
        },
      }),
    );
  }

  /**
   * node-postgres's `types` option as PGlite parsers: the caller's parser for every type PGlite would
   * parse itself (the others come back as text on both). PGlite takes a map, not a function, so the map
   * covers the types this instance knows (built-in ones and their arrays).
   */
  private parsersOf(types: NonNullable<ClientQueryConfig['types']>): Record<number, (value: string) => unknown> {
    const parsers: Record<number, (value: string) => unknown> = {};
    for (const oid of Object.keys(this.pg.parsers)) parsers[Number(oid)] = types.getTypeParser(Number(oid), 'text');
    return parsers;
  }

  async listen(channel: string, onNotify: (n: Notification) => void): Promise<() => Promise<void>> {
    const unsubscribe = await this.pg.listen(channel, (payload) => onNotify({ channel, payload }));
    return async () => {
      await unsubscribe();
    };
  }

  async close(): Promise<void> {
    if (!this.pg.closed) await this.pg.close();
  }
}
