/**
 * Where one flow-control measurement's data lives: a fresh PGlite data dir under the OS temp dir, or a
 * fresh database on the PostgreSQL server (created after a CHECKPOINT, so no measurement pays for the
 * previous one's dirty pages). Dropped afterwards. Shared by bench/queues.ts and bench/schedules.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineOptions } from '../src/index.js';
import type { BackendName } from './config.js';
import { adminQuery, createServerDatabase } from './server-database.js';

export interface Place {
  backend: BackendName;
  options: EngineOptions;
  /** The database's name on the server (its backends' CPU counts as "postgres"); undefined on PGlite. */
  database?: string;
  drop(): Promise<void>;
}

export async function freshPlace(backend: BackendName, adminUrl: string, label: string): Promise<Place> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `aries-bench-${label}-`));
    return { backend, options: { dataDir: join(dir, 'data') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const db = await createServerDatabase(adminUrl, label);
  await adminQuery(adminUrl, 'CHECKPOINT');
  return { backend, options: { databaseUrl: db.url }, database: db.name, drop: db.drop };
}
