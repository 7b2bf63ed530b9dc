/**
 * Benchmark settings, all from the environment so a run is reproducible from its printed command.
 * Defaults are sized so that each throughput run takes roughly 10–20 s on a 2-core machine.
 */
export type BackendName = 'pglite' | 'postgres';

export interface BenchConfig {
  backends: BackendName[];
  /** Admin connection to the server; the bench creates and drops its own database there. */
  adminUrl: string;
  /** 'dir': a fresh data dir under the OS temp dir (how the engine runs by default); 'memory': in memory. */
  pgliteStorage: 'dir' | 'memory';
  concurrency: number;
  stepsPerExecution: number;
  executions: Record<BackendName, number>;
  warmupExecutions: number;
  latencySamples: number;
  latencyWarmup: number;
  commitSeconds: number;
  writeResults: boolean;
  /** Before each measurement, wait until other processes use less than this many cores… */
  quietThreshold: number;
  /** …for at most this long, then measure anyway (the "other CPU" column shows the interference). */
  quietWaitSeconds: number;
  /** A measurement during which other processes used more than 2 × quietThreshold cores is repeated, at most this often. */
  retries: number;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function readConfig(): BenchConfig {
  const backends = (process.env.BENCH_BACKENDS ?? 'pglite,postgres')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const b of backends) {
    if (b !== 'pglite' && b !== 'postgres') throw new Error(`BENCH_BACKENDS: unknown backend "${b}" (pglite, postgres)`);
  }
  const storage = process.env.BENCH_PGLITE_STORAGE ?? 'dir';
  if (storage !== 'dir' && storage !== 'memory') throw new Error('BENCH_PGLITE_STORAGE must be "dir" or "memory"');
  const executions = int('BENCH_EXECUTIONS', 0);
  return {
    backends: backends as BackendName[],
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    pgliteStorage: storage,
    concurrency: int('BENCH_CONCURRENCY', 16),
    stepsPerExecution: int('BENCH_STEPS', 10),
    executions: {
      pglite: int('BENCH_EXECUTIONS_PGLITE', executions || 2_000),
      postgres: int('BENCH_EXECUTIONS_POSTGRES', executions || 4_000),
    },
    warmupExecutions: int('BENCH_WARMUP_EXECUTIONS', 200),
    latencySamples: int('BENCH_LATENCY_SAMPLES', 300),
    latencyWarmup: int('BENCH_LATENCY_WARMUP', 20),
    commitSeconds: int('BENCH_COMMIT_SECONDS', 10),
    writeResults: process.env.BENCH_WRITE_RESULTS !== '0',
    quietThreshold: Number(process.env.BENCH_QUIET_THRESHOLD ?? '0.25'),
    quietWaitSeconds: int('BENCH_QUIET_WAIT_SECONDS', 120),
    retries: int('BENCH_RETRIES', 2),
  };
}
