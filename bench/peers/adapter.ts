/**
 * The one interface every system in the side-by-side comparison implements (Aries, pg-boss,
 * graphile-worker, DBOS). A child process (workload-child.ts) drives one adapter through setup, the
 * three workloads and teardown, on its own fresh database; the runner compares what it reports.
 */

/** Where a system's data lives: a database on the PostgreSQL server, or (Aries embedded) a PGlite data dir. */
export interface Place {
  /** The fresh database's URL on the server (also set for embedded Aries: its completion poller is not used). */
  databaseUrl: string;
  /** Aries embedded only: the PGlite data dir. */
  dataDir?: string;
}

export interface WorkloadSettings {
  /** Executions (jobs) enqueued and drained. */
  jobs: number;
  /** Idle pickup probes, one at a time (after `latencyWarmup` unmeasured ones). */
  latencySamples: number;
  latencyWarmup: number;
  /** Workflows of `steps` no-op durable steps. */
  workflows: number;
  steps: number;
  concurrency: number;
  pool: number;
}

export interface ProbeTimes {
  /** performance.now() when the handler started. */
  handlerStarted: number;
}

export interface PeerAdapter {
  /** Installs the system's own schema in the place and connects. */
  setup(place: Place, settings: WorkloadSettings): Promise<void>;
  /** Enqueues `n` one-step jobs with no worker running (batch enqueue where the system has one). */
  enqueue(n: number): Promise<void>;
  /** Starts one worker (concurrency from the settings) and resolves when `n` jobs have completed; stops it. */
  drain(n: number): Promise<void>;
  /**
   * Starts an idle worker whose handler calls `started(i)`; `probe(i)` enqueues job i and resolves with the
   * id `completed` polls; `completed(id)` says whether the database shows job i as done.
   */
  startProbeWorker(started: (i: number) => void): Promise<void>;
  probe(i: number): Promise<string>;
  /** The SQL (one parameter, the probe's id) whose one row says the job is complete, run on a separate connection. */
  completedSql: string | undefined;
  /** Embedded systems: polls through the system's own connection instead. */
  completed?(id: string): Promise<boolean>;
  stopProbeWorker(): Promise<void>;
  /** Runs `n` workflows of `steps` durable no-op steps; undefined when the system has no durable steps. */
  runWorkflows?(n: number, steps: number): Promise<void>;
  teardown(): Promise<void>;
}

/** What one child run reports (rates per second, latencies in milliseconds). */
export interface SystemRun {
  system: string;
  enqueuePerSecond: number;
  jobsPerSecond: number;
  pickupP50: number;
  pickupP99: number;
  visibleP50: number;
  /** Undefined: the system has no durable steps. */
  stepsPerSecond: number | undefined;
}
