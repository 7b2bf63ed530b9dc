/**
 * The engine: one explicit instance per database (no global state). It opens the backend, migrates the
 * schema (refusing a schema newer than this code), starts executions, reads them, and creates workers.
 * On the embedded backend it also runs the maintenance PGlite lacks (VACUUM, CHECKPOINT).
 */
import { AriesMetrics, renderDatabaseGauges, type DatabaseGauges } from '../core/aries-metrics.js';
import { encodeStored, DEFAULT_MAX_PAYLOAD_BYTES } from '../core/json-value.js';
import type { Database } from '../db/database.js';
import { durabilityWarnings } from '../db/durability-check.js';
import { checkSchema, migrate, type MigrationResult } from '../db/migrate.js';
import { openDatabase, type ConnectionOptions } from '../db/open-database.js';
import { RemoteDatabase } from '../db/remote-database.js';
import type { Execution, JournalRecord, Step } from '../db/rows.js';
import {
  getExecution,
  isUuid,
  listSteps,
  readJournal,
  registerWorkflow,
  startExecution,
} from '../db/sql-functions.js';
import { listExecutionPage, type ExecutionPage, type ExecutionPageFilter } from '../db/execution-pages.js';
import {
  activeCounts,
  cancelExecution,
  executionStats,
  listCheckpoints,
  listFailurePage,
  listStepPreviews,
  readJournalPage,
  listWorkflows,
  summarizeFailures,
  type ActiveCounts,
  type Checkpoint,
  type FailureGroup,
  type FailurePageFilter,
  type FailureWithWorkflow,
  type RegisteredWorkflow,
  type StatsBucket,
} from '../db/operator-functions.js';
import {
  EngineClosedError,
  ExecutionBusyError,
  ExecutionNotFoundError,
  IllegalTransitionError,
  InvalidDefinitionError,
  InvalidInputError,
} from '../errors.js';
import { TERMINAL_STATUSES, type ExecutionStatus } from '../core/execution-states.js';
import type { FailureType } from '../core/failure-classification.js';
import { autoRecoverFailures, listFailures, listWorkers, recoverFromFailure, type WorkerLeases } from '../db/recovery-functions.js';
import type { Failure } from '../db/rows.js';
import { startEmbeddedMaintenance } from '../worker/embedded-maintenance.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { isWorkflow, type Workflow } from './define-workflow.js';
import { ExecutionHandle } from './execution-handle.js';

export interface EngineOptions extends ConnectionOptions {
  /** Apply pending migrations on open (default true). When false, a schema that is behind is an error. */
  migrate?: boolean;
  /** Largest input, step output or result accepted, as JSON bytes (default 8 MiB). */
  maxPayloadBytes?: number;
  /** Embedded only: how often VACUUM runs, since PGlite has no autovacuum (default 5 min; 0 = never). */
  vacuumIntervalMs?: number;
  /** Where background errors go (default: console.warn). */
  onError?: (err: unknown, context: string) => void;
  /** Where start-up warnings go, such as a server running with fsync=off (default: process.emitWarning). */
  onWarning?: (message: string) => void;
}

/** Longer keys would not fit the unique index that makes them idempotent (and no caller needs one). */
export const MAX_IDEMPOTENCY_KEY_BYTES = 512;

export interface StartOptions {
  /** The same key returns the execution it first started, never a second one. */
  idempotencyKey?: string;
  /** When starting by name: the version (default: the most recently registered one). */
  version?: string;
}

export interface ExecutionDetail {
  execution: Execution;
  steps: Step[];
}

export class Engine {
  readonly db: Database;
  /**
   * This engine's metrics (engine.renderMetrics() renders them): what this process's engine and workers
   * did. Register your own in metrics.registry and they are rendered with them.
   */
  readonly metrics = new AriesMetrics();
  private readonly closeDb: () => Promise<void>;
  private readonly maxPayloadBytes: number;
  private readonly onError: (err: unknown, context: string) => void;
  private readonly workers = new Set<Worker>();
  private readonly registered = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private stopMaintenance: (() => void) | undefined;
  private closed = false;

  private constructor(db: Database, closeDb: () => Promise<void>, options: EngineOptions) {
    this.db = db;
    this.closeDb = closeDb;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.onError = options.onError ?? ((err, context) => console.warn(`aries: ${context}:`, err));
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const opened = await openDatabase(options);
    try {
      const engine = new Engine(opened.db, opened.close, options);
      if (options.migrate === false) {
        const { pending } = await checkSchema(opened.db);
        if (pending > 0) throw new InvalidInputError(`the database schema is ${pending} migration(s) behind; run "aries migrate"`);
      } else {
        await engine.migrate();
      }
      if (opened.db.kind === 'postgres') {
        const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'ARIES_DURABILITY' }));
        for (const message of await durabilityWarnings(opened.db)) warn(`aries: ${message}`);
      }
      if (opened.db.kind === 'pglite') {
        engine.stopMaintenance = startEmbeddedMaintenance(opened.db, options.vacuumIntervalMs ?? 300_000, engine.onError);
      }
      return engine;
    } catch (err) {
      await opened.close().catch(() => {});
      throw err;
    }
  }

  get backend(): Database['kind'] {
    return this.db.kind;
  }

  async migrate(onProgress?: Parameters<typeof migrate>[1]): Promise<MigrationResult> {
    this.assertOpen();
    if (this.db instanceof RemoteDatabase) return this.db.migrate();
    return migrate(this.db, onProgress);
  }

  /** Starts an execution of a workflow (by definition, or by name as registered by a worker). */
  async start<Input, Output>(
    workflow: Workflow<Input, Output> | string,
    input: Input,
    options: StartOptions = {},
  ): Promise<ExecutionHandle<Output>> {
    this.assertOpen();
    let name: string;
    let version: string | null;
    if (typeof workflow === 'string') {
      name = workflow;
      version = options.version ?? null;
    } else {
      if (!isWorkflow(workflow)) throw new InvalidDefinitionError('engine.start needs a workflow from defineWorkflow() or its name');
      name = workflow.name;
      version = workflow.version;
      if (!this.registered.has(workflow.key)) {
        await registerWorkflow(this.db, name, version);
        this.registered.add(workflow.key);
      }
    }
    const key = options.idempotencyKey;
    if (key !== undefined && (typeof key !== 'string' || key === '')) {
      throw new InvalidInputError('idempotencyKey must be a non-empty string');
    }
    if (key !== undefined && Buffer.byteLength(key, 'utf8') > MAX_IDEMPOTENCY_KEY_BYTES) {
      throw new InvalidInputError(`idempotencyKey is ${Buffer.byteLength(key, 'utf8')} bytes; the limit is ${MAX_IDEMPOTENCY_KEY_BYTES}`);
    }
    const inputJson = encodeStored(input === undefined ? null : input, 'input', this.maxPayloadBytes);
    const started = await startExecution(this.db, { workflow: name, version, inputJson, idempotencyKey: key ?? null });
    if (started.created) this.metrics.executionsStarted.labels(name).inc();
    for (const w of this.workers) w.poke();
    return this.handle<Output>(started.executionId, started.created);
  }

  handle<Output = unknown>(id: string, created = false): ExecutionHandle<Output> {
    return new ExecutionHandle<Output>(id, created, this.db, (eid, fn) => this.onSettledHere(eid, fn));
  }

  /**
   * One execution and its steps. With `truncateAboveBytes`, payloads larger than that (as JSON: input,
   * output, step outputs) come back as `{ $truncated: true, bytes, preview }`, cut in the database.
   */
  async getExecution(id: string, options: { truncateAboveBytes?: number } = {}): Promise<ExecutionDetail | undefined> {
    const execution = await this.readExecution(id, options);
    if (!execution) return undefined;
    const steps =
      options.truncateAboveBytes === undefined ? await listSteps(this.db, id) : await listStepPreviews(this.db, id, options.truncateAboveBytes);
    return { execution, steps };
  }

  /** One execution without its steps (payloads truncated as getExecution's are, if asked). */
  async readExecution(id: string, options: { truncateAboveBytes?: number } = {}): Promise<Execution | undefined> {
    this.assertOpen();
    return getExecution(this.db, id, options.truncateAboveBytes ?? null);
  }

  /** A page of an execution's journal: at most `limit` records after `afterLsn` (payloads optionally truncated). */
  async readJournalPage(
    id: string,
    options: { afterLsn?: number | null; limit: number; truncateAboveBytes?: number },
  ): Promise<JournalRecord[]> {
    this.assertOpen();
    return isUuid(id) ? readJournalPage(this.db, id, options) : [];
  }

  /** Executions newest first, one page at a time (pass nextCursor back for the next, older page). */
  async listExecutions(filter?: ExecutionPageFilter): Promise<ExecutionPage> {
    this.assertOpen();
    return listExecutionPage(this.db, filter);
  }

  /** An execution's checkpoints, newest first, each with whether recovery may start from it. */
  async listCheckpoints(id: string): Promise<Checkpoint[]> {
    this.assertOpen();
    return isUuid(id) ? listCheckpoints(this.db, id) : [];
  }

  /** Failures of every execution, newest first, one page at a time, each with its workflow. */
  async listFailurePage(filter?: FailurePageFilter): Promise<{ failures: FailureWithWorkflow[]; nextCursor: string | null }> {
    this.assertOpen();
    return listFailurePage(this.db, filter);
  }

  /** Failures since `since`, grouped by workflow and type. */
  async summarizeFailures(since: Date): Promise<FailureGroup[]> {
    this.assertOpen();
    return summarizeFailures(this.db, since);
  }

  /** The workflows workers have registered (name and version). */
  async listWorkflows(): Promise<RegisteredWorkflow[]> {
    this.assertOpen();
    return listWorkflows(this.db);
  }

  /** Executions started, finished and failed per time bucket (the overview's charts). */
  async executionStats(options: { from: Date; to: Date; bucketSeconds: number }): Promise<StatsBucket[]> {
    this.assertOpen();
    return executionStats(this.db, options.from, options.to, options.bucketSeconds);
  }

  /** How many executions are in each unfinished status, and how many are due now (the queue depth). */
  async activeCounts(): Promise<ActiveCounts> {
    this.assertOpen();
    return activeCounts(this.db);
  }

  /**
   * Cancels an execution that is not finished: no step starts after this returns. A worker running it
   * is fenced off (its next write is refused; its heartbeat aborts the run). Compensations do not run.
   * Returns the status it had. ExecutionNotFoundError, or IllegalTransitionError when it is finished.
   */
  async cancel(id: string, reason?: string): Promise<{ previousStatus: ExecutionStatus }> {
    this.assertOpen();
    if (!isUuid(id)) throw new ExecutionNotFoundError(`execution ${id} not found: it is not an execution id (a UUID)`);
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidInputError('reason must be a string');
    const { previousStatus, workflow } = await cancelExecution(this.db, id, reason ?? null);
    this.metrics.executionsCancelled.labels(workflow).inc();
    this.notifySettled(id); // result() waiters in this process answer now, not at their next poll
    return { previousStatus };
  }

  /**
   * Runs a failed or waiting execution again now (recover from its newest failure of any type): an
   * execution waiting for a retry timer becomes due, a FAILED one resumes from its last valid checkpoint.
   * IllegalTransitionError when it is finished, ExecutionBusyError while a worker runs it.
   */
  async retry(id: string): Promise<{ checkpointId: string | null; previousStatus: ExecutionStatus }> {
    this.assertOpen();
    const execution = isUuid(id) ? await getExecution(this.db, id) : undefined;
    if (!execution) throw new ExecutionNotFoundError(`execution ${id} not found in ${this.db.description}`);
    const { status } = execution;
    if (TERMINAL_STATUSES.has(status)) {
      throw new IllegalTransitionError(`execution ${id} is ${status}: it is finished, there is nothing to retry`);
    }
    // recover_from_failure refuses a leased execution too, but reports a missing failure first, which
    // reads as the wrong reason for one that is simply running.
    if (status === 'RUNNING') {
      throw new ExecutionBusyError(`execution ${id} is RUNNING under a worker's lease: it is being run, there is nothing to retry now`);
    }
    const { checkpointId } = await this.recoverUnfinished(id, undefined);
    return { checkpointId, previousStatus: status };
  }

  /** The journal of an execution in LSN order (after `afterLsn`, if given). */
  async readJournal(id: string, afterLsn: number | null = null): Promise<JournalRecord[]> {
    this.assertOpen();
    return readJournal(this.db, id, afterLsn);
  }

  /** Failures, newest first (of one execution, or all; only those not yet recovered if asked). */
  async listFailures(filter: { executionId?: string; unrecoveredOnly?: boolean; limit?: number } = {}): Promise<Failure[]> {
    this.assertOpen();
    return listFailures(this.db, filter);
  }

  /**
   * Recovers an execution from its newest unrecovered failure (aries.recover_from_failure): a FAILED one
   * resumes from its last valid checkpoint, a failed compensation resumes compensating, a waiting retry
   * runs now. Returns the checkpoint it continues from (null: the execution's start).
   */
  async recover(id: string, failureType?: FailureType): Promise<{ checkpointId: string | null }> {
    this.assertOpen();
    if (!isUuid(id)) throw new InvalidInputError(`"${id}" is not an execution id (a UUID)`);
    const status = (await getExecution(this.db, id))?.status;
    if (status !== undefined && TERMINAL_STATUSES.has(status)) {
      throw new IllegalTransitionError(`execution ${id} is ${status}: it is finished, there is nothing to recover`);
    }
    return this.recoverUnfinished(id, failureType);
  }

  /** recover() once the execution is known not to be finished (retry() has read it already). */
  private async recoverUnfinished(id: string, failureType: FailureType | undefined): Promise<{ checkpointId: string | null }> {
    const checkpointId = await recoverFromFailure(this.db, id, failureType ?? null);
    this.metrics.recoveries.labels('operator').inc();
    for (const w of this.workers) w.poke();
    return { checkpointId };
  }

  /** The workers holding leases now, with their executions and lease expiries. */
  async listWorkers(): Promise<WorkerLeases[]> {
    this.assertOpen();
    return listWorkers(this.db);
  }

  /** The automatic recovery sweep, once (workers run it on a schedule). Returns how many it recovered. */
  async autoRecoverFailures(options?: { maxAgeMs?: number; maxPerExecution?: number }): Promise<number> {
    this.assertOpen();
    const count = await autoRecoverFailures(this.db, options);
    this.metrics.recoveries.labels('sweep').inc(count);
    if (count > 0) for (const w of this.workers) w.poke();
    return count;
  }

  worker(options: WorkerOptions): Worker {
    this.assertOpen();
    if (this.db instanceof RemoteDatabase) {
      throw new InvalidInputError(
        `${this.db.description}: workers must run in the process that holds the embedded data dir (or use a PostgreSQL server)`,
      );
    }
    const worker = new Worker(this.db, options, {
      maxPayloadBytes: this.maxPayloadBytes,
      onError: this.onError,
      onFinished: (id) => this.notifySettled(id),
      metrics: this.metrics,
    });
    this.workers.add(worker);
    return worker;
  }

  private onSettledHere(id: string, fn: () => void): () => void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.waiters.delete(id);
    };
  }

  private notifySettled(id: string): void {
    for (const fn of [...(this.waiters.get(id) ?? [])]) fn();
  }

  /**
   * The Prometheus text exposition (format 0.0.4, METRICS_CONTENT_TYPE) of this process's counters and
   * histograms and of the database gauges read now. When the database cannot be read, the counters are
   * still rendered, with aries_database_up 0 and no database gauges.
   */
  async renderMetrics(): Promise<string> {
    this.assertOpen();
    let gauges: DatabaseGauges | undefined;
    try {
      const { statusCounts: n, queueDepth, expiredLeases } = await activeCounts(this.db);
      const executions = { PENDING: n.PENDING ?? 0, RUNNING: n.RUNNING ?? 0, COMPENSATING: n.COMPENSATING ?? 0, FAILED: n.FAILED ?? 0 };
      gauges = { queueDepth, executions, expiredLeases };
    } catch (err) {
      this.onError(err, 'metrics');
    }
    return this.metrics.render() + renderDatabaseGauges(gauges);
  }

  /** Stops this engine's workers (gracefully) and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.stopMaintenance?.();
    for (const set of this.waiters.values()) for (const fn of [...set]) fn();
    await this.closeDb();
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

export function createEngine(options?: EngineOptions): Promise<Engine> {
  return Engine.create(options);
}
