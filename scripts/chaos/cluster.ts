/**
 * The chaos run's own PostgreSQL cluster (test/helpers/throwaway-postgres.ts: initdb into a temp dir, a free
 * loopback port, never the machine's main server) with a `chaos` database, and the two database faults:
 * a restart in immediate mode (every server process killed at once, nothing flushed on the way out; crash
 * recovery on start, as `pg_ctl restart -m immediate`) and pg_terminate_backend of some worker backends.
 */
import pg from 'pg';
import { createThrowawayPostgres, throwawayPostgresUnavailable, type ThrowawayPostgres } from '../../test/helpers/throwaway-postgres.js';
import type { SeededRandom } from '../../test/helpers/seeded-random.js';

export const CHAOS_DATABASE = 'chaos';
/** Worker connections say so (application_name), so a fault terminates theirs and not the judge's. */
export const WORKER_APPLICATION = 'chaos-worker';

export interface ChaosCluster {
  readonly server: ThrowawayPostgres;
  /** The chaos database; `application` sets application_name. */
  url(application?: string): string;
  restartImmediate(): Promise<void>;
  /** Terminates up to `count` worker backends picked at random; answers how many were terminated. */
  terminateWorkerBackends(count: number, random: SeededRandom): Promise<number>;
  remove(): Promise<void>;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createChaosCluster(): Promise<ChaosCluster> {
  const unavailable = throwawayPostgresUnavailable();
  if (unavailable) throw new Error(`a chaos run needs a throwaway PostgreSQL cluster: ${unavailable}`);
  // Room for every worker's pool, the starter and the judge; the WAL of thousands of executions.
  const server = await createThrowawayPostgres({ extraConf: ['max_connections = 200', 'max_wal_size = 1GB'] });
  await server.start();
  await withClient(server.url(), (c) => c.query(`CREATE DATABASE ${CHAOS_DATABASE}`));
  const url = (application?: string) =>
    server.url(CHAOS_DATABASE) + (application ? `?application_name=${encodeURIComponent(application)}` : '');
  return {
    server,
    url,
    async restartImmediate() {
      await server.crash();
      await server.start();
    },
    async terminateWorkerBackends(count, random) {
      return withClient(server.url(), async (c) => {
        const { rows } = await c.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid()',
          [CHAOS_DATABASE, WORKER_APPLICATION],
        );
        let terminated = 0;
        for (const { pid } of random.sample(rows, count)) {
          const { rows: done } = await c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
          if (done[0]?.ok) terminated++;
        }
        return terminated;
      });
    },
    remove: () => server.remove(),
  };
}
