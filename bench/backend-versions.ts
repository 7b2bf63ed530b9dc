/**
 * Which PostgreSQL a benchmark measured, for its machine line: the server's version, asked of the admin
 * connection, or the one PGlite embeds, asked of a throwaway in-memory engine. Shared by bench/queues.ts,
 * bench/schedules.ts and bench/waits.ts, which note it for each backend they run.
 */
import { createEngine, type EngineOptions } from '../src/index.js';
import type { BackendName } from './config.js';
import { adminQuery } from './server-database.js';

export interface BackendVersions {
  postgres?: string | undefined;
  pglitePostgres?: string | undefined;
}

/** Records `backend`'s version in `versions` (the key for that backend only). `engineOptions` quiets the throwaway engine. */
export async function noteBackendVersion(versions: BackendVersions, backend: BackendName, adminUrl: string, engineOptions: EngineOptions): Promise<void> {
  if (backend === 'postgres') {
    versions.postgres = (await adminQuery<{ server_version: string }>(adminUrl, 'SHOW server_version'))[0]?.server_version;
    return;
  }
  const e = await createEngine({ inMemory: true, ...engineOptions });
  versions.pglitePostgres = (await e.db.query<{ server_version: string }>('SHOW server_version'))[0]?.server_version;
  await e.close();
}
