/**
 * One suite, two backends: `describeBackends` declares a block once and runs it on an in-memory PGlite
 * and on a fresh database of the PostgreSQL server, each with its own engine.
 */
import { describe, beforeAll, afterAll } from 'vitest';
import { createEngine, type Engine, type EngineOptions } from '../../src/index.js';
import { createTestDatabase } from './server.js';

export type BackendName = 'pglite' | 'postgres';
export const BACKENDS: BackendName[] = ['pglite', 'postgres'];

export const serverEnabled = (): boolean => process.env.ARIES_TEST_SERVER !== '0';

export interface TestBackend {
  name: BackendName;
  /** The engine, available inside tests (after beforeAll). */
  readonly engine: Engine;
  /** Options that open another engine on the same database (server only; PGlite in memory is private). */
  readonly connection: EngineOptions;
}

/** Opens a fresh database on `name`; returns its connection options and a cleanup. */
export async function openTestDatabase(
  name: BackendName,
  label: string,
): Promise<{ connection: EngineOptions; cleanup: () => Promise<void> }> {
  if (name === 'pglite') return { connection: { inMemory: true }, cleanup: async () => {} };
  const db = await createTestDatabase(label);
  return { connection: { databaseUrl: db.url }, cleanup: db.drop };
}

export function describeBackends(title: string, body: (b: TestBackend) => void, options: EngineOptions = {}): void {
  for (const name of BACKENDS) {
    const block = name === 'postgres' && !serverEnabled() ? describe.skip : describe;
    block(`${title} [${name}]`, () => {
      let engine: Engine | undefined;
      let connection: EngineOptions = {};
      let cleanup: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        const opened = await openTestDatabase(name, title);
        connection = opened.connection;
        cleanup = opened.cleanup;
        engine = await createEngine({ ...connection, ...options, onError: () => {} });
      });
      afterAll(async () => {
        await engine?.close();
        await cleanup?.();
      });
      body({
        name,
        get engine() {
          if (!engine) throw new Error('engine not open yet: use it inside a test or hook');
          return engine;
        },
        get connection() {
          return connection;
        },
      });
    });
  }
}
