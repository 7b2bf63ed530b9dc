/**
 * `engine.admin`: every read of executions and every operator action (cancel, retry, recover, the recovery
 * sweep), apart from the client's start / handle / result. The HTTP API, the CLI and `aries verify` go
 * through it; an application's request path never needs it.
 */
import { renderProcessMetrics } from '../core/metrics-registry.js';
import { GAUGED_STATUSES, renderDatabaseGauges, type AriesMetrics, type DatabaseGauges, type QueueGauges } from '../core/aries-metrics.js';
import { TERMINAL_STATUSES, type ExecutionStatus } from '../core/execution-states.js';
import type { FailureType } from '../core/failure-classification.js';
import type { PayloadCodec } from '../core/payload-codec.js';
import type { Database } from '../db/database.js';
import { listExecutionPage, type ExecutionPage, type ExecutionPageFilter } from '../db/execution-pages.js';
import { listCheckpoints, readJournalPage, type Checkpoint } from '../db/journal.js';
import { activeCounts, cancelExecution, executionStats, type ActiveCounts, type StatsBucket } from '../db/operator.js';
import { listFailurePage, summarizeFailures, type FailureGroup, type FailurePageFilter, type FailureWithWorkflow } from '../db/recovery.js';
import { listStepPreviews } from '../db/steps.js';
import { listWorkflows, type RegisteredWorkflow } from '../db/workflows.js';
import { retentionPolicyProblem, type RetentionPolicy, type StoredRetentionPolicy } from '../core/retention-policy.js';
import { MAX_REASON_CHARS } from '../core/stored-error.js';
import {
  clearRetentionPolicy,
  listRetentionPolicies,
  purgeFinished,
  setRetentionPolicy,
  type PurgeResult,
} from '../db/retention.js';
import { listWorkers, type WorkerInfo } from '../db/workers.js';
import { listQueues, setQueue, type QueueChange, type QueueInfo } from '../db/queues.js';
import { autoRecoverFailures, recoverFromFailure } from '../db/recovery.js';
import type { Execution, JournalRecord, Step } from '../db/rows.js';
import { getExecution, isUuid, listChildren, type ChildExecution } from '../db/executions.js';
import { listPurges, purgeExecution, type PurgeRecord } from '../db/purges.js';
import { listSignals, type MailboxSignal } from '../db/signals.js';
import {
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  readScheduleSlots,
  resumeSchedule,
  triggerSchedule,
  type Schedule,
  type ScheduleSlot,
} from '../db/schedules.js';
import { readJournal } from '../db/journal.js';
import { listSteps } from '../db/steps.js';
import { ExecutionBusyError, ExecutionNotFoundError, IllegalTransitionError, InvalidInputError, ScheduleNotFoundError } from '../errors.js';
import { checkQueueLimits, checkQueueName } from './define-queue.js';
import { decodeExecution, decodeFailure, decodeJournalRecord, decodeSchedule, decodeSignal, decodeStep } from './stored-payloads.js';

export interface ExecutionDetail {
  execution: Execution;
  /** In position order; a wait's `wait` says what it waits for. */
  steps: Step[];
  /** The executions it started with ctx.child, in the order started (the first DETAIL_LIST_LIMIT). */
  children: ChildExecution[];
  /** Its mailbox: the newest DETAIL_LIST_LIMIT signals sent to it, oldest first, each with the wait that took it. */
  signals: MailboxSignal[];
}

/** At most this many children and signals come with one execution (an execution page stays small). */
export const DETAIL_LIST_LIMIT = 1_000;

export interface JournalReadOptions {
  /** Records after this LSN (default: from the start). */
  afterLsn?: number | null;
  /** At most this many records (default: all of them). */
  limit?: number;
  /** Payloads larger than this, as JSON, come back as `{ $truncated: true, bytes, preview }`, cut in the database. */
  truncateAboveBytes?: number;
}

export interface JournalPage {
  /** In LSN order. Read whole (no limit, no truncation), each carries the execution's last LSN; paged, null. */
  records: JournalRecord[];
  /** Pass as `afterLsn` for the next page; null when this page reaches the end of the journal. */
  nextAfterLsn: number | null;
}

/** One schedule with its newest slot records (started, manual, and the skipped and missed ranges). */
export interface ScheduleDetail extends Schedule {
  slots: ScheduleSlot[];
}

/** Slot records getSchedule returns by default (newest first). */
export const SCHEDULE_SLOTS_LIMIT = 100;

export interface FailurePage {
  failures: FailureWithWorkflow[];
  /** Pass as `cursor` for the next, older page; null on the last page. */
  nextCursor: string | null;
}

/**
 * What the admin needs of its engine. The engine hands it over instead of being imported, so the two
 * files do not depend on each other both ways.
 */
export interface EngineLink {
  readonly db: Database;
  readonly metrics: AriesMetrics;
  /** Throws EngineClosedError once the engine is closed. */
  assertOpen(): void;
  /** Wakes this process's workers: something became runnable now. */
  pokeWorkers(): void;
  /** Answers this process's result() waiters on the execution at once instead of at their next poll. */
  notifySettled(executionId: string): void;
  onError(err: unknown, context: string): void;
  /** Decodes every payload read (the engine's codec option). */
  readonly codec?: PayloadCodec | undefined;
}

export class EngineAdmin {
  constructor(private readonly engine: EngineLink) {}

  private get db(): Database {
    this.engine.assertOpen();
    return this.engine.db;
  }

  /**
   * One execution with its steps (each wait with what it waits for), its parent and children, and its
   * mailbox. With `truncateAboveBytes`, payloads larger than that (as JSON: input, output, step outputs,
   * signal payloads) come back as `{ $truncated: true, bytes, preview }`, cut in the database.
   */
  async getExecution(id: string, options: { truncateAboveBytes?: number } = {}): Promise<ExecutionDetail | undefined> {
    const execution = await this.readExecution(id, options);
    if (!execution) return undefined;
    const db = this.db;
    const truncateAboveBytes = options.truncateAboveBytes ?? null;
    const [steps, children, signals] = await Promise.all([
      truncateAboveBytes === null ? listSteps(db, id) : listStepPreviews(db, id, truncateAboveBytes),
      listChildren(db, id, DETAIL_LIST_LIMIT),
      listSignals(db, id, { limit: DETAIL_LIST_LIMIT, truncateAboveBytes }),
    ]);
    const codec = this.engine.codec;
    return {
      execution,
      steps: await Promise.all(steps.map((s) => decodeStep(s, id, codec))),
      children,
      signals: await Promise.all(signals.map((s) => decodeSignal(s, id, codec))),
    };
  }

  /** One execution without its steps (payloads truncated as getExecution's are, if asked). */
  async readExecution(id: string, options: { truncateAboveBytes?: number } = {}): Promise<Execution | undefined> {
    const execution = await getExecution(this.db, id, options.truncateAboveBytes ?? null);
    return execution && decodeExecution(execution, this.engine.codec);
  }

  /**
   * An execution's journal, each record's checksum verified: all of it by default, or a page of at most
   * `limit` records after `afterLsn` (one query either way; a page never reads the rest of the journal).
   */
  async readJournal(id: string, options: JournalReadOptions = {}): Promise<JournalPage> {
    const db = this.db;
    const { afterLsn = null, limit, truncateAboveBytes } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new InvalidInputError(`limit must be a positive integer; got ${limit}`, { limit });
    }
    if (!isUuid(id)) return { records: [], nextAfterLsn: null };
    const decoded = (records: JournalRecord[]) => Promise.all(records.map((r) => decodeJournalRecord(r, id, this.engine.codec)));
    if (limit === undefined && truncateAboveBytes === undefined) {
      return { records: await decoded(await readJournal(db, id, afterLsn)), nextAfterLsn: null };
    }
    // One record more than asked says whether there is a next page without a second query.
    const records = await decoded(await readJournalPage(db, id, { afterLsn, limit: limit === undefined ? null : limit + 1, truncateAboveBytes }));
    if (limit === undefined || records.length <= limit) return { records, nextAfterLsn: null };
    const page = records.slice(0, limit);
    return { records: page, nextAfterLsn: page[page.length - 1]!.lsn };
  }

  /** Executions newest first, one page at a time (pass nextCursor back for the next, older page). */
  async listExecutions(filter?: ExecutionPageFilter): Promise<ExecutionPage> {
    const page = await listExecutionPage(this.db, filter);
    return { ...page, executions: await Promise.all(page.executions.map((e) => decodeExecution(e, this.engine.codec))) };
  }

  /** An execution's checkpoints, newest first, each with whether recovery may start from it. */
  async listCheckpoints(id: string): Promise<Checkpoint[]> {
    const db = this.db;
    return isUuid(id) ? listCheckpoints(db, id) : [];
  }

  /**
   * Failures newest first, one page at a time (pass nextCursor back for the next), each with its
   * workflow: of every execution or of one (`executionId`), by type, workflow, or only unrecovered ones.
   */
  async listFailures(filter: FailurePageFilter = {}): Promise<FailurePage> {
    const db = this.db;
    if (filter.executionId !== undefined && !isUuid(filter.executionId)) return { failures: [], nextCursor: null };
    const page = await listFailurePage(db, filter);
    return { ...page, failures: await Promise.all(page.failures.map((f) => decodeFailure(f, this.engine.codec))) };
  }

  /** Failures since `since`, grouped by workflow and type. */
  async summarizeFailures(since: Date): Promise<FailureGroup[]> {
    return summarizeFailures(this.db, since);
  }

  /** The workflows workers have registered (name and version). */
  async listWorkflows(): Promise<RegisteredWorkflow[]> {
    return listWorkflows(this.db);
  }

  /** Executions started, finished and failed per time bucket (the overview's charts). */
  async executionStats(options: { from: Date; to: Date; bucketSeconds: number }): Promise<StatsBucket[]> {
    return executionStats(this.db, options.from, options.to, options.bucketSeconds);
  }

  /** How many executions are in each unfinished status, and how many are due now (the queue depth). */
  async activeCounts(): Promise<ActiveCounts> {
    return activeCounts(this.db);
  }

  /** The registered workers (idle ones too; live, stale or stopped) with the leases each holds now. */
  async listWorkers(): Promise<WorkerInfo[]> {
    return listWorkers(this.db);
  }

  /** Every queue by name: its limits (null: unlimited) and live stats (pending, delayed, running, waiting, …). */
  async listQueues(): Promise<QueueInfo[]> {
    return listQueues(this.db);
  }

  /** One queue's limits and stats, or undefined when there is no such queue. */
  async getQueue(name: string): Promise<QueueInfo | undefined> {
    checkQueueName(name, InvalidInputError);
    const [queue] = await listQueues(this.db, name);
    return queue;
  }

  /**
   * Changes a queue at runtime; the next claim applies it. A given limit replaces the current one, `null`
   * removes it (unlimited), `paused` stops or resumes admissions. The queue then keeps these limits when a
   * deploy registers its definition again. UnknownQueueError for an unknown queue.
   */
  async setQueue(name: string, change: QueueChange): Promise<QueueInfo> {
    checkQueueName(name, InvalidInputError);
    if (typeof change !== 'object' || change === null) throw new InvalidInputError('setQueue needs a change: { concurrency?, …, paused? }');
    const given = Object.fromEntries(Object.entries(change).filter(([k, v]) => v !== null && k !== 'paused'));
    checkQueueLimits(given, `queue "${name}"`, (m) => new InvalidInputError(m));
    if (change.paused !== undefined && typeof change.paused !== 'boolean') throw new InvalidInputError('paused must be true or false');
    const known = new Set(['concurrency', 'workerConcurrency', 'keyConcurrency', 'rateLimit', 'paused']);
    const unknown = Object.keys(change).find((k) => !known.has(k));
    if (unknown !== undefined) throw new InvalidInputError(`setQueue: unknown setting "${unknown}"`);
    const queue = await setQueue(this.db, name, change);
    this.engine.pokeWorkers();
    return queue;
  }

  /**
   * Cancels an execution that is not finished: no step starts after this returns. A worker running it
   * is fenced off (its next write is refused; its heartbeat aborts the run). Compensations do not run.
   * Returns the status it had. ExecutionNotFoundError, or IllegalTransitionError when it is finished.
   */
  /**
   * Cancels an execution that is not finished: a sleeping or waiting one ends at once, a running one's
   * worker is fenced (the step it runs becomes CANCELLED); unfinished children started with parentClose
   * 'cancel' are cancelled with it. `compensate: true`: the compensations of its completed steps run in
   * reverse order and it ends COMPENSATED, with the cancellation recorded as its failure. A string second
   * argument is the reason.
   */
  async cancel(id: string, options?: string | { reason?: string; compensate?: boolean }): Promise<{ previousStatus: ExecutionStatus }> {
    const db = this.db;
    if (!isUuid(id)) throw new ExecutionNotFoundError(`execution ${id} not found: it is not an execution id (a UUID)`);
    const { reason, compensate } = typeof options === 'string' || options === undefined ? { reason: options, compensate: false } : options;
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidInputError('reason must be a string');
    if (reason !== undefined && reason.length > MAX_REASON_CHARS) {
      throw new InvalidInputError(`the reason is ${reason.length} characters; the limit is ${MAX_REASON_CHARS}`, { field: 'reason' });
    }
    if (compensate !== undefined && typeof compensate !== 'boolean') throw new InvalidInputError('compensate must be a boolean');
    const { previousStatus, workflow } = await cancelExecution(db, id, reason ?? null, compensate === true);
    if (!compensate) this.engine.metrics.executionsCancelled.labels(workflow).inc();
    this.engine.notifySettled(id);
    return { previousStatus };
  }

  /**
   * Deletes an execution and everything that belongs to it (journal, steps, waits, checkpoints, failures,
   * signals, its kept idempotency key), with its whole tree of children, and returns the audit record it
   * leaves (engine.admin.listPurges). For a secret that must not stay in the journal. Only an execution at
   * rest: COMPLETED, COMPENSATED, CANCELLED or FAILED, and every child too (ExecutionActiveError: cancel it
   * first); a child alone is PurgeRefusedError (purge its top-level execution); ExecutionNotFoundError.
   */
  async purge(id: string, options: { by: string; reason?: string }): Promise<PurgeRecord> {
    const db = this.db;
    if (!isUuid(id)) throw new ExecutionNotFoundError(`execution ${id} not found: it is not an execution id (a UUID)`);
    const { by, reason } = options ?? {};
    if (typeof by !== 'string' || by === '' || by.length > 256) {
      throw new InvalidInputError('a purge names who purges: by must be a string of 1 to 256 characters', { field: 'by' });
    }
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidInputError('reason must be a string', { field: 'reason' });
    if (reason !== undefined && reason.length > MAX_REASON_CHARS) {
      throw new InvalidInputError(`the reason is ${reason.length} characters; the limit is ${MAX_REASON_CHARS}`, { field: 'reason' });
    }
    const record = await purgeExecution(db, id, by, reason ?? null);
    this.engine.notifySettled(id);
    return record;
  }

  /** The purge audit records, newest first (at most `limit`, default 100); of one execution id when given. */
  async listPurges(options: { executionId?: string; limit?: number } = {}): Promise<PurgeRecord[]> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InvalidInputError(`limit must be a whole number from 1 to 10000, got ${String(limit)}`, { field: 'limit' });
    }
    if (options.executionId !== undefined && !isUuid(options.executionId)) return [];
    return listPurges(this.db, { executionId: options.executionId, limit });
  }

  /**
   * Runs a failed or waiting execution again now (recover from its newest failure of any type): an
   * execution waiting for a retry timer becomes due, a FAILED one resumes from its last valid checkpoint.
   * IllegalTransitionError when it is finished, ExecutionBusyError while a worker runs it.
   */
  async retry(id: string): Promise<{ checkpointId: string | null; previousStatus: ExecutionStatus }> {
    const db = this.db;
    const execution = isUuid(id) ? await getExecution(db, id) : undefined;
    if (!execution) throw new ExecutionNotFoundError(`execution ${id} not found`);
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

  /**
   * Recovers an execution from its newest unrecovered failure (aries.recover_from_failure): a FAILED one
   * resumes from its last valid checkpoint, a failed compensation resumes compensating, a waiting retry
   * runs now. Returns the checkpoint it continues from (null: the execution's start).
   */
  async recover(id: string, failureType?: FailureType): Promise<{ checkpointId: string | null }> {
    const db = this.db;
    if (!isUuid(id)) throw new InvalidInputError(`"${id}" is not an execution id (a UUID)`);
    const status = (await getExecution(db, id))?.status;
    if (status !== undefined && TERMINAL_STATUSES.has(status)) {
      throw new IllegalTransitionError(`execution ${id} is ${status}: it is finished, there is nothing to recover`);
    }
    return this.recoverUnfinished(id, failureType);
  }

  /** recover() once the execution is known not to be finished (retry() has read it already). */
  private async recoverUnfinished(id: string, failureType: FailureType | undefined): Promise<{ checkpointId: string | null }> {
    const checkpointId = await recoverFromFailure(this.db, id, failureType ?? null);
    this.engine.metrics.recoveries.labels('operator').inc();
    this.engine.pokeWorkers();
    return { checkpointId };
  }

  /** Every schedule by name (the built-in 'aries.auto-recover' too): definition, state, its newest 5 slots. */
  async listSchedules(): Promise<Schedule[]> {
    return Promise.all((await listSchedules(this.db)).map((s) => decodeSchedule(s, this.engine.codec)));
  }

  /** One schedule with its newest `limit` slot records (default 100). ScheduleNotFoundError for an unknown name. */
  async getSchedule(name: string, options: { limit?: number } = {}): Promise<ScheduleDetail> {
    const limit = options.limit ?? SCHEDULE_SLOTS_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError(`limit must be a positive integer; got ${limit}`);
    const db = this.db;
    const schedule = (await listSchedules(db, 0)).find((s) => s.name === name);
    if (!schedule) throw new ScheduleNotFoundError(`schedule "${name}" not found`);
    return { ...(await decodeSchedule(schedule, this.engine.codec)), slots: await readScheduleSlots(db, name, limit) };
  }

  /** No slot fires until resumed. Returns whether it was paused already. */
  async pauseSchedule(name: string): Promise<{ wasPaused: boolean }> {
    return { wasPaused: await pauseSchedule(this.db, name) };
  }

  /** Slots that came due while paused are then handled by its misfire policy. Returns whether it was paused. */
  async resumeSchedule(name: string): Promise<{ wasPaused: boolean }> {
    const wasPaused = await resumeSchedule(this.db, name);
    return { wasPaused };
  }

  /**
   * Runs the schedule once now (a 'manual' slot; its cron slots are untouched), even when paused: the
   * execution it started, or for a built-in schedule its action's count.
   */
  async triggerSchedule(name: string): Promise<{ executionId: string | null; actionResult: number | null }> {
    const { executionId, actionResult } = await triggerSchedule(this.db, name);
    const metrics = this.engine.metrics;
    metrics.scheduleFires.labels(name, 'manual').inc();
    // A built-in schedule's count is its action's: executions recovered, or executions purged.
    if (actionResult !== null && actionResult > 0) {
      if (name === RETENTION_SCHEDULE) metrics.retentionPurged.inc(actionResult);
      else metrics.recoveries.labels('sweep').inc(actionResult);
    }
    this.engine.pokeWorkers();
    return { executionId, actionResult };
  }

  /** Deletes a schedule and its slot records (not the executions it started). A built-in one (aries.…) is refused (InvalidInputError): pause it instead. */
  async deleteSchedule(name: string): Promise<void> {
    await deleteSchedule(this.db, name);
  }

  /** The automatic recovery sweep, once (workers run it on a schedule). Returns how many it recovered. */
  async autoRecoverFailures(options?: { maxAgeMs?: number; maxPerExecution?: number }): Promise<number> {
    const count = await autoRecoverFailures(this.db, options);
    this.engine.metrics.recoveries.labels('sweep').inc(count);
    if (count > 0) this.engine.pokeWorkers();
    return count;
  }

  /**
   * The Prometheus text exposition (format 0.0.4, METRICS_CONTENT_TYPE) of this process's counters and
   * histograms (engine.metrics), of the database gauges read now, and of the process itself (prom-client's
   * default metrics: CPU, memory, heap, GC, event-loop lag). When the database cannot be read,
   * the counters are still rendered, with aries_database_up 0 and no database gauges.
   */
  async renderMetrics(): Promise<string> {
    const db = this.db;
    let gauges: DatabaseGauges | undefined;
    try {
      const [{ statusCounts: n, queueDepth, expiredLeases }, queues] = await Promise.all([activeCounts(db), listQueues(db)]);
      const executions = Object.fromEntries(GAUGED_STATUSES.map((status) => [status, n[status] ?? 0])) as DatabaseGauges['executions'];
      gauges = { queueDepth, executions, expiredLeases, queues: queues.map(queueGauges) };
    } catch (err) {
      this.engine.onError(err, 'metrics');
    }
    const parts = await Promise.all([this.engine.metrics.render(), renderDatabaseGauges(gauges), renderProcessMetrics()]);
    return parts.map((part) => (part === '' || part.endsWith('\n') ? part : `${part}\n`)).join('');
  }

  /**
   * Sets an operator's retention policy: of one workflow, or with no workflow the default for every
   * workflow without its own. It replaces that policy whole (an omitted duration: kept for ever) and a
   * later deploy of the workflow's definition does not overwrite it.
   */
  async setRetention(policy: RetentionPolicy, workflow?: string): Promise<void> {
    const problem = retentionPolicyProblem(policy);
    if (problem !== undefined) throw new InvalidInputError(problem);
    await setRetentionPolicy(this.db, retentionTarget(workflow), policy);
  }

  /** Removes the policy of one workflow (or the default); true when there was one. */
  async clearRetention(workflow?: string): Promise<boolean> {
    return clearRetentionPolicy(this.db, retentionTarget(workflow));
  }

  /** The default policy (workflow null) and every workflow's, each with who set it. */
  async getRetention(): Promise<{ default: StoredRetentionPolicy | null; workflows: StoredRetentionPolicy[] }> {
    const policies = await listRetentionPolicies(this.db);
    return { default: policies.find((p) => p.workflow === null) ?? null, workflows: policies.filter((p) => p.workflow !== null) };
  }

  /**
   * One bounded purge pass (one short transaction): finished executions older than their policy, at most
   * `batchSize` (default 1,000) with their children, and as many expired kept idempotency keys. Call it
   * again while it returns a full batch.
   */
  async purgeFinished(options: { batchSize?: number } = {}): Promise<PurgeResult> {
    const batchSize = options.batchSize ?? 1_000;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 2_147_483_647) {
      throw new InvalidInputError(`batchSize must be a whole number of executions ≥ 1, got ${String(batchSize)}`);
    }
    const result = await purgeFinished(this.db, batchSize);
    this.engine.metrics.retentionPurged.inc(result.executions);
    return result;
  }
}

/** The built-in schedule whose action is the retention pass (aries.purge_finished). */
const RETENTION_SCHEDULE = 'aries.retention';

/** A queue's numbers and limits as the metrics export them. */
function queueGauges(q: QueueInfo): QueueGauges {
  return {
    name: q.name,
    pending: q.pending,
    delayed: q.delayed,
    running: q.running,
    waiting: q.waiting,
    oldestDueMs: q.oldestDueMs,
    limits: { concurrency: q.concurrency, worker: q.workerConcurrency, key: q.keyConcurrency, rate: q.rateLimit?.limit ?? null },
  };
}

/** A policy's workflow as stored (null: the default), refusing a name that is not a string. */
function retentionTarget(workflow: string | undefined): string | null {
  if (workflow === undefined) return null;
  if (typeof workflow !== 'string' || workflow === '') {
    throw new InvalidInputError(`a retention policy names a workflow, got ${JSON.stringify(workflow)}`);
  }
  return workflow;
}
