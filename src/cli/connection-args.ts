/**
 * Which database a command uses: --database-url, else --data-dir, else $DATABASE_URL, else the
 * embedded data dir `.aries`. Explicit flags beat the environment, so `--data-dir` works in a shell
 * that exports DATABASE_URL. Commands other than `worker` open the embedded data dir with
 * ifDataDirHeld 'connect': while a worker holds it, they go through that worker's process.
 */
import { DEFAULT_DATA_DIR, type ConnectionOptions } from '../db/open-database.js';
import { createEngine, type Engine } from '../sdk/engine.js';
import { UsageError } from './cli-error.js';

export const CONNECTION_OPTIONS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export const CONNECTION_USAGE = `Database (every command):
  --database-url URL   a PostgreSQL server (postgres://user[:password]@host[:port]/database)
  --data-dir DIR       the embedded PGlite data dir (default: $DATABASE_URL if set, else ${DEFAULT_DATA_DIR})`;

export function connectionFrom(
  values: { 'database-url'?: string | undefined; 'data-dir'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ConnectionOptions {
  const url = values['database-url'];
  const dir = values['data-dir'];
  if (url !== undefined && dir !== undefined) {
    throw new UsageError('--database-url and --data-dir name two different databases; give one of them');
  }
  if (url !== undefined) return { databaseUrl: url };
  if (dir !== undefined) return { dataDir: dir };
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL };
  return { dataDir: DEFAULT_DATA_DIR };
}

export function openEngine(connection: ConnectionOptions, ifDataDirHeld: 'error' | 'connect'): Promise<Engine> {
  return createEngine({
    ...connection,
    ifDataDirHeld,
    // Background errors (a failed heartbeat, say) are reported in one line; the command goes on.
    onError: (err, context) => process.stderr.write(`aries: ${context}: ${err instanceof Error ? err.message : String(err)}\n`),
  });
}

/** "PostgreSQL at postgres://…" or "PGlite at /path", for messages. */
export function describeBackend(engine: Engine): string {
  return engine.backend === 'postgres' ? `PostgreSQL at ${engine.db.description}` : engine.db.description;
}
