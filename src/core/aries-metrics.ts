/**
 * The metrics Aries exports, by name, with their help text and labels: the one place they are defined.
 *
 * Model
 *   in-process  counters and histograms of what this process did (the engine's starts and recoveries, its
 *               workers' claims, runs and steps). Per process, as Prometheus expects: scrape every process
 *               and aggregate with sum(rate(...)). They start at 0 when the engine is created.
 *   database    gauges read from the database at scrape time (queue depth, executions by unfinished
 *               status — sleeping, waiting and sub-committed ones included —, expired leases): the same in every process, so aggregate them with max(), not sum().
 *
 * Labels stay low-cardinality: a workflow's name (never its version, never an execution or step key), a
 * step type, a failure type, a timeout kind, who recovered (never a signal name: callers choose those). Hot paths take a WorkflowSeries once per workflow and increment
 * its fields, so a step costs a few additions and no string is built.
 */
import type { FailureType } from './failure-classification.js';
import {
  MetricsRegistry,
  type Counter,
  type CounterSeries,
  type Gauge,
  type Histogram,
  type HistogramSeries,
} from './metrics-registry.js';

/** Step durations run from milliseconds (a database write) to minutes (a call to a slow service). */
export const STEP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** A claim is one short statement. */
export const CLAIM_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The series of one workflow, resolved once and kept by the code that increments them. */
export interface WorkflowSeries {
  completed: CounterSeries;
  failed: CounterSeries;
  compensated: CounterSeries;
  stepAttempts: CounterSeries;
  transactionAttempts: CounterSeries;
  stepFailures: Record<FailureType, CounterSeries>;
  stepDuration: HistogramSeries;
  signalsConsumed: CounterSeries;
  timeouts: Record<TimeoutKind, CounterSeries>;
}

/**
 * What ran out of time: a step attempt (StepOptions.timeoutMs), a wait for a signal or a child (its
 * timeoutMs), or a whole execution (the workflow's or the start's timeoutMs).
 */
export const TIMEOUT_KINDS = ['step', 'wait', 'execution'] as const;
export type TimeoutKind = (typeof TIMEOUT_KINDS)[number];

export class AriesMetrics {
  readonly registry: MetricsRegistry;
  readonly executionsStarted: Counter;
  readonly executionsCompleted: Counter;
  readonly executionsFailed: Counter;
  readonly executionsCompensated: Counter;
  readonly executionsCancelled: Counter;
  readonly stepAttempts: Counter;
  readonly stepFailures: Counter;
  readonly stepDuration: Histogram;
  readonly claimDuration: Histogram;
  readonly claimedExecutions: Counter;
  readonly queueAdmissions: Counter;
  readonly leaseExpiries: Counter;
  readonly leasesLost: Counter;
  readonly recoveries: Counter;
  readonly signalsSent: Counter;
  readonly signalsConsumed: Counter;
  readonly timeouts: Counter;
  readonly activeExecutions: Gauge;
  readonly scheduleFires: Counter;
  readonly retentionPurged: Counter;
  private readonly workflows = new Map<string, WorkflowSeries>();

  constructor(registry: MetricsRegistry = new MetricsRegistry()) {
    this.registry = registry;
    const r = registry;
    this.executionsStarted = r.counter('aries_executions_started_total', 'Executions created by engine.start in this process (an idempotent repeat is not counted).', ['workflow']);
    this.executionsCompleted = r.counter('aries_executions_completed_total', "Executions this process's workers ended COMPLETED.", ['workflow']);
    this.executionsFailed = r.counter('aries_executions_failed_total', "Executions this process's workers ended FAILED (a PERMANENT failure, or a compensation that failed).", ['workflow']);
    this.executionsCompensated = r.counter('aries_executions_compensated_total', "Executions this process's workers ended COMPENSATED.", ['workflow']);
    this.executionsCancelled = r.counter('aries_executions_cancelled_total', 'Executions cancelled through this process (engine.admin.cancel: the API, the CLI).', ['workflow']);
    this.stepAttempts = r.counter('aries_step_attempts_total', "Step attempts run by this process's workers (replayed steps are not run and not counted).", ['workflow', 'step_type']);
    this.stepFailures = r.counter('aries_step_failures_total', "Step attempts that failed, by failure type (TRANSIENT: a retry was scheduled).", ['workflow', 'failure_type']);
    this.stepDuration = r.histogram('aries_step_duration_seconds', "How long step attempts run by this process's workers took, successful or not.", ['workflow'], STEP_DURATION_BUCKETS);
    this.claimDuration = r.histogram('aries_claim_duration_seconds', 'Latency of the claim_executions call of this process\'s workers.', [], CLAIM_DURATION_BUCKETS);
    this.claimedExecutions = r.counter('aries_claimed_executions_total', "Executions claimed by this process's workers.");
    this.queueAdmissions = r.counter('aries_queue_admissions_total', "Executions this process's workers claimed from a queue (first starts, wake-ups, retries and takeovers alike), by queue.", ['queue']);
    this.leaseExpiries = r.counter('aries_lease_expiries_total', "Executions this process's workers claimed from another worker whose lease had expired (it died or stalled).");
    this.leasesLost = r.counter('aries_leases_lost_total', "Runs of this process's workers that ended because their lease was taken over (not counting executions an operator cancelled).");
    this.recoveries = r.counter('aries_recoveries_total', 'Failures recovered from, by an operator (engine.admin.recover) or the recovery sweep.', ['by']);
    this.signalsSent = r.counter('aries_signals_sent_total', "Signals put in a mailbox through this process's engine.signal or engine.signalWithStart (a duplicate idempotency key stores nothing and is not counted; aries.send_signal called from SQL is counted by no process).");
    this.signalsConsumed = r.counter('aries_signals_consumed_total', "Signals taken from the mailbox by a wait (ctx.waitForSignal) in this process's workers.", ['workflow']);
    this.timeouts = r.counter('aries_timeouts_total', "Deadlines this process's workers met, by kind: step (an attempt past its timeoutMs), wait (a signal or child wait past its timeoutMs), execution (past the execution's timeoutMs).", ['workflow', 'kind']);
    this.scheduleFires = r.counter('aries_schedule_fires_total', "Schedule slots this process's scheduler handled, by status (started: an execution or a built-in action ran; skipped, missed: a misfire policy let the slot go), and runs triggered through this process (manual).", ['schedule', 'status']);
    this.retentionPurged = r.counter('aries_retention_purged_total', "Finished executions deleted by retention passes this process ran (its scheduler's aries.retention, engine.admin.purgeFinished).");
    this.activeExecutions = r.gauge('aries_worker_active_executions', "Executions this process's workers are running now.");
  }

  /** The series of a workflow, created (at 0) on first use and cached. */
  forWorkflow(workflow: string): WorkflowSeries {
    let s = this.workflows.get(workflow);
    if (!s) {
      s = {
        completed: this.executionsCompleted.labels(workflow),
        failed: this.executionsFailed.labels(workflow),
        compensated: this.executionsCompensated.labels(workflow),
        stepAttempts: this.stepAttempts.labels(workflow, 'step'),
        transactionAttempts: this.stepAttempts.labels(workflow, 'transaction'),
        stepFailures: {
          TRANSIENT: this.stepFailures.labels(workflow, 'TRANSIENT'),
          PERMANENT: this.stepFailures.labels(workflow, 'PERMANENT'),
          PARTIAL: this.stepFailures.labels(workflow, 'PARTIAL'),
        },
        stepDuration: this.stepDuration.labels(workflow),
        signalsConsumed: this.signalsConsumed.labels(workflow),
        timeouts: {
          step: this.timeouts.labels(workflow, 'step'),
          wait: this.timeouts.labels(workflow, 'wait'),
          execution: this.timeouts.labels(workflow, 'execution'),
        },
      };
      this.workflows.set(workflow, s);
    }
    return s;
  }

  render(): Promise<string> {
    return this.registry.render();
  }
}

/**
 * Unfinished statuses whose executions are counted at scrape time (finished ones only grow): SLEEPING and
 * WAITING hold no worker; SUB_COMMITTED children completed and wait for their parent to finish.
 */
export const GAUGED_STATUSES = ['PENDING', 'RUNNING', 'SLEEPING', 'WAITING', 'SUB_COMMITTED', 'COMPENSATING', 'FAILED'] as const;
export type GaugedStatus = (typeof GAUGED_STATUSES)[number];

/** A queue's numbers at scrape time (from aries.list_queues). */
export interface QueueGauges {
  name: string;
  pending: number;
  delayed: number;
  running: number;
  waiting: number;
  /** How long its oldest due PENDING execution has been due (null: none). */
  oldestDueMs: number | null;
  /** Its limits; null: unlimited (not exported). */
  limits: Record<QueueLimitKind, number | null>;
}

/** A queue's limits as the `limit` label of aries_queue_limit names them; rate is starts per window. */
export const QUEUE_LIMIT_KINDS = ['concurrency', 'worker', 'key', 'rate'] as const;
export type QueueLimitKind = (typeof QUEUE_LIMIT_KINDS)[number];

/** What the database says at scrape time. */
export interface DatabaseGauges {
  /** PENDING executions due now (available_at reached): the claimable backlog. */
  queueDepth: number;
  executions: Record<GaugedStatus, number>;
  /** RUNNING executions whose lease expired: a worker died or stalled; another worker will resume them. */
  expiredLeases: number;
  queues: QueueGauges[];
}

/** The database gauges as exposition text; `undefined` when they could not be read (database down). */
export function renderDatabaseGauges(gauges: DatabaseGauges | undefined): Promise<string> {
  const r = new MetricsRegistry();
  r.gauge('aries_database_up', 'Whether this scrape could read the database gauges (1) or not (0).').set(gauges ? 1 : 0);
  if (gauges) {
    r.gauge('aries_queue_depth', 'PENDING executions due now, waiting for a worker.').set(gauges.queueDepth);
    const byStatus = r.gauge('aries_executions', 'Executions in each unfinished status, now.', ['status']);
    for (const status of GAUGED_STATUSES) byStatus.labels(status).set(gauges.executions[status]);
    r.gauge('aries_expired_leases', 'RUNNING executions whose lease expired (their worker died or stalled), now.').set(gauges.expiredLeases);
    renderQueueGauges(r, gauges.queues);
  }
  return r.render();
}

/** Per queue (label queue): its executions by state now, how long its oldest due one waits, and its limits. */
function renderQueueGauges(r: MetricsRegistry, queues: QueueGauges[]): void {
  const pending = r.gauge('aries_queue_pending', "A queue's PENDING executions that are due, now.", ['queue']);
  const delayed = r.gauge('aries_queue_delayed', "A queue's PENDING executions not due yet (a delay, a debounce, a retry's backoff), now.", ['queue']);
  const running = r.gauge('aries_queue_running', "A queue's executions holding a slot, now.", ['queue']);
  const waiting = r.gauge('aries_queue_waiting', "A queue's SLEEPING or WAITING executions (holding no slot), now.", ['queue']);
  const oldest = r.gauge('aries_queue_oldest_due_seconds', "How long a queue's oldest due PENDING execution has been due (0: none).", ['queue']);
  const limit = r.gauge('aries_queue_limit', "A queue's limits (concurrency, per worker, per key; rate: starts per window); an unlimited one is not exported.", ['queue', 'limit']);
  for (const q of queues) {
    pending.labels(q.name).set(q.pending);
    delayed.labels(q.name).set(q.delayed);
    running.labels(q.name).set(q.running);
    waiting.labels(q.name).set(q.waiting);
    oldest.labels(q.name).set((q.oldestDueMs ?? 0) / 1000);
    for (const kind of QUEUE_LIMIT_KINDS) {
      const value = q.limits[kind];
      if (value !== null) limit.labels(q.name, kind).set(value);
    }
  }
}
