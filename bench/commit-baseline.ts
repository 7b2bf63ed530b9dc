/**
 * The physical limit for one durable write on this server: `clients` connections, each committing
 * single-row INSERTs (autocommit, synchronous_commit as the server has it) in a loop for a fixed time.
 * Every commit waits for its WAL flush, so the rate is bounded by the disk's flush rate times how many
 * commits share a flush (group commit). A durable step needs at least one such commit.
 */
import pg from 'pg';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';

export interface CommitBaselineResult {
  clients: number;
  seconds: number;
  commits: number;
  commitsPerSecond: number;
  synchronousCommit: string;
  cpu: CpuUse;
}

export async function measureCommitBaseline(url: string, clients: number, seconds: number): Promise<CommitBaselineResult> {
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'aries-bench-commits' });
      await c.connect();
      return c;
    }),
  );
  try {
    const [setting] = (await conns[0]!.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows;
    const [db] = (await conns[0]!.query<{ name: string }>('SELECT current_database() AS name')).rows;
    await conns[0]!.query('CREATE TABLE IF NOT EXISTS bench_commits (v bigint NOT NULL)');

    const runFor = async (ms: number) => {
      let count = 0;
      let stop = false;
      const until = setTimeout(() => (stop = true), ms);
      await Promise.all(
        conns.map(async (c, lane) => {
          let v = lane;
          while (!stop) {
            await c.query('INSERT INTO bench_commits(v) VALUES ($1)', [v]);
            v += clients;
            count++;
          }
        }),
      );
      clearTimeout(until);
      return count;
    };

    await runFor(1_000); // warm-up: connections, plan caches, WAL segments
    const cpu0 = cpuSnapshot(db?.name);
    const t0 = performance.now();
    const commits = await runFor(seconds * 1_000);
    const elapsed = (performance.now() - t0) / 1000;
    return {
      clients,
      seconds: elapsed,
      commits,
      commitsPerSecond: commits / elapsed,
      synchronousCommit: setting?.synchronous_commit ?? 'unknown',
      cpu: cpuSince(cpu0, cpuSnapshot(db?.name)),
    };
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}
