/**
 * A worker claims runnable executions of its workflows and runs them, up to `concurrency` at once.
 *
 * - Claiming: aries.claim_executions (FOR UPDATE SKIP LOCKED at READ COMMITTED) takes due PENDING
 *   executions and RUNNING ones whose lease expired on the database clock, i.e. whose worker died.
 * - Leases: renewed by a heartbeat every leaseMs / 3. An execution the heartbeat no longer finds under
 *   our token was taken over; its run is aborted and every write it tries is refused by the database.
 *   Each lease remembers when (monotonic clock) the request that last confirmed it was sent; before a
 *   step body, a transactional step or a compensation starts, a stale confirmation is renewed first and
 *   the run abandoned if that fails (lease-confirmation.ts), so a worker resumed after a stall does not
 *   start an effect on an execution another worker has taken over.
 * - Registry: the worker registers in aries.workers at start, heartbeats there on the same timer whether
 *   or not it holds leases (so an idle worker is seen, and a dead one goes stale), and deregisters on a
 *   clean stop.
 * - Wake-ups: NOTIFY aries_wakeup when work is started or handed back, or a queued execution gives up
 *   its slot, with a polling fallback, and at once when a slot frees up. A rate window that frees is
 *   no event: after a short claim, a worker serving queued work asks the database when the next full
 *   window frees (aries.next_queue_admission) and arms its wake timer for then.
 * - Schedules: every worker runs the scheduler (scheduler.ts), which fires due schedules, the built-in
 *   recovery schedule among them; schedulerIntervalMs: 0 leaves firing to other workers.
 * - Shutdown: stop() stops claiming; running executions finish their current step and are handed back
 *   before their next one; whatever is still running after shutdownTimeoutMs is left to lease expiry.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AriesMetrics } from '../core/aries-metrics.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../core/json-value.js';
import type { PayloadCodec } from '../core/payload-codec.js';
import type { StoredErrorPolicy } from '../core/stored-error.js';
import type { Database } from '../db/database.js';
import { claimExecutions, nextQueueAdmission, renewLeases, type ClaimedExecution } from '../db/leases.js';
import { readLeaseState } from '../db/leases.js';
import { deregisterWorker, heartbeatWorker, registerWorker } from '../db/workers.js';
import { InvalidDefinitionError, LeaseLostError } from '../errors.js';
import { leaseIsFresh } from './lease-confirmation.js';
import { isWorkflow, type Workflow } from '../sdk/types/workflow.js';
import { RUN_OUTCOMES, type RunOutcome } from './run/close-run.js';
import { runExecution } from './run/execution-runner.js';
import { registerDefinition } from './register-definition.js';
import { DEFAULT_SCHEDULER_INTERVAL_MS, Scheduler } from './scheduler.js';
import { StepWriteBatcher } from './step-write-batcher.js';

export interface WorkerOptions {
  workflows: Workflow<any, any>[];
  /** Executions run at once (default 10). */
  concurrency?: number;
  /** How long a claim lasts without renewal; a dead worker's executions resume after it (default 15 s). */
  leaseMs?: number;
  /** Polling fallback when no notification arrives (default 1 s). */
  pollIntervalMs?: number;
  /** How long stop() waits for running steps before leaving them to lease expiry (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Identifies this worker in leases (default host:pid:random). */
  id?: string;
  /**
   * How often this worker looks for due schedules (default 1 s; it also looks at the earliest next slot).
   * 0: this worker fires no schedules (others do; the built-in recovery schedule is one of them).
   */
  schedulerIntervalMs?: number;
}

export interface WorkerEvents {
  onFinished?: (executionId: string, outcome: RunOutcome) => void;
  onError?: (err: unknown, context: string) => void;
  maxPayloadBytes?: number;
  /** How errors are stored (the engine's storeStacks and redactError options). */
  storedErrors?: StoredErrorPolicy;
  /** Encodes payloads written and decodes payloads read (the engine's codec option). */
  codec?: PayloadCodec | undefined;
  /** Where claims, runs and steps are counted (the engine's; default: a registry of this worker's own). */
  metrics?: AriesMetrics;
}

interface Running {
  claimed: ClaimedExecution;
  abort: AbortController;
  done: Promise<void>;
  /** When (performance.now()) the claim or renewal that last confirmed the lease was sent. */
  confirmedAt: number;
  /** Transactional steps of the run between their start and their end: the heartbeat leaves the row alone. */
  inTransaction: number;
  /** Aborted by stop() after its timeout, not by a lost lease. */
  stopped?: boolean;
}

/** What a worker did: claims, runs by how they came to rest (one count per RunOutcome), steps. */
export type WorkerStats = { claimed: number; stepsRun: number; stepsReplayed: number } & Record<RunOutcome, number>;

function emptyStats(): WorkerStats {
  return { claimed: 0, stepsRun: 0, stepsReplayed: 0, ...(Object.fromEntries(RUN_OUTCOMES.map((o) => [o, 0])) as Record<RunOutcome, number>) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Worker {
  readonly id: string;
  readonly stats: WorkerStats = emptyStats();
  private readonly workflows = new Map<string, Workflow>();
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly running = new Map<string, Running>();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private wake: (() => void) | undefined;
  private wakePending = false;
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly schedulerIntervalMs: number;
  private scheduler: Scheduler | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly writer: StepWriteBatcher;
  private readonly metrics: AriesMetrics;
  /**
   * Whether this worker may be refused by a queue's rate: one of its workflows names a queue, or it was
   * handed a queued claim (a start may put any workflow in a queue). Until then a short claim costs nothing more.
   */
  private servesQueued = false;

  constructor(
    private readonly db: Database,
    options: WorkerOptions,
    private readonly events: WorkerEvents = {},
  ) {
    if (!options || !Array.isArray(options.workflows) || options.workflows.length === 0) {
      throw new InvalidDefinitionError('a worker needs at least one workflow: engine.worker({ workflows: [...] })');
    }
    for (const wf of options.workflows) {
      if (!isWorkflow(wf)) throw new InvalidDefinitionError('worker workflows must come from defineWorkflow()');
      if (this.workflows.has(wf.key)) throw new InvalidDefinitionError(`workflow ${wf.key} is given to the worker twice`);
      this.workflows.set(wf.key, wf);
      if (wf.queue !== undefined) this.servesQueued = true;
    }
    this.concurrency = positiveInt(options.concurrency ?? 10, 'concurrency');
    this.leaseMs = positiveInt(options.leaseMs ?? 15_000, 'leaseMs');
    this.pollIntervalMs = positiveInt(options.pollIntervalMs ?? 1_000, 'pollIntervalMs');
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    if ('recoverySweepMs' in options) {
      throw new InvalidDefinitionError(
        'worker option recoverySweepMs is gone: the recovery sweep is the built-in schedule "aries.auto-recover" (pause it with engine.admin.pauseSchedule)',
      );
    }
    this.schedulerIntervalMs = options.schedulerIntervalMs ?? DEFAULT_SCHEDULER_INTERVAL_MS;
    if (this.schedulerIntervalMs !== 0) positiveInt(this.schedulerIntervalMs, 'schedulerIntervalMs');
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    // PGlite runs one query at a time, so one batch in flight. A server is CPU-bound long before it is
    // flush-bound, and a step costs less in a larger batch, so two in flight: one filling while one commits.
    this.writer = new StepWriteBatcher(db, db.kind === 'pglite' ? 1 : 2);
    this.metrics = events.metrics ?? new AriesMetrics();
  }

  get activeExecutions(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.id} was already started`);
    this.state = 'running';
    for (const wf of this.workflows.values()) await registerDefinition(this.db, wf);
    await this.register();
    try {
      this.unlisten = await this.db.listen('aries_wakeup', (n) => {
        // 'queue:<name>': a queued execution gave up its slot; any worker may serve that queue.
        if (n.payload.startsWith('queue:') || [...this.workflows.values()].some((wf) => wf.name === n.payload)) this.poke();
      });
    } catch (err) {
      this.events.onError?.(err, 'listen'); // polling still finds the work
    }
    const heartbeatMs = Math.max(50, Math.floor(this.leaseMs / 3));
    this.heartbeat = setInterval(() => void this.renew(), heartbeatMs);
    if (this.schedulerIntervalMs > 0) {
      this.scheduler = new Scheduler(this.db, this.schedulerIntervalMs, {
        onStarted: (_schedule, slot) => {
          if (slot.created) this.poke();
        },
        onSlots: (schedule, status, count) => this.metrics.scheduleFires.labels(schedule, status).inc(count),
        onAction: (_schedule, action, result) => {
          // The built-in recovery schedule: what it recovered counts as the sweep's.
          if (action === 'auto_recover_failures' && result > 0) {
            this.metrics.recoveries.labels('sweep').inc(result);
            this.poke();
          }
          if (action === 'purge_finished') this.metrics.retentionPurged.inc(result);
        },
        onError: (err) => this.events.onError?.(err, 'scheduler'),
      });
      this.scheduler.start();
    }
    this.loop = this.claimLoop();
  }

  private nextWake: { at: number; timer: NodeJS.Timeout } | undefined;

  /**
   * An execution this worker suspended, or a queue's full rate window, is due in `dueInMs` (by the
   * database clock): the claim loop looks again then, rather than at its next poll. One timer, for the
   * earliest: suspended executions and rate-limited backlogs cost the worker nothing else.
   */
  private wakeIn(dueInMs: number | null): void {
    if (dueInMs === null || dueInMs > this.pollIntervalMs * 2 ** 20) return;
    const at = Date.now() + Math.max(0, dueInMs) + 2; // the claim compares on the database clock: never early
    if (this.nextWake && this.nextWake.at <= at && this.nextWake.at > Date.now()) return;
    if (this.nextWake) clearTimeout(this.nextWake.timer);
    const timer = setTimeout(() => {
      this.nextWake = undefined;
      this.poke();
    }, at - Date.now());
    timer.unref();
    this.nextWake = { at, timer };
  }

  /** Makes this worker's scheduler look for due schedules now (a schedule was created or changed). */
  pokeScheduler(): void {
    this.scheduler?.poke();
  }

  /** Wakes the claim loop now (new work, or a free slot). */
  poke(): void {
    this.wakePending = true;
    this.wake?.();
  }

  private async claimLoop(): Promise<void> {
    const keys = [...this.workflows.keys()];
    let errorDelay = 100;
    while (this.state === 'running') {
      // Cleared on every pass, so a wake that arrives while all slots are busy cannot make the loop spin
      // on resolved promises (which would starve the event loop); it only means "look again".
      this.wakePending = false;
      const free = this.concurrency - this.running.size;
      if (free > 0) {
        let claimed: ClaimedExecution[];
        const claimStarted = performance.now();
        try {
          claimed = await claimExecutions(this.db, {
            worker: this.id,
            workflowKeys: keys,
            limit: free,
            leaseMs: this.leaseMs,
            running: [...this.running.keys()],
          });
          errorDelay = 100;
        } catch (err) {
          this.metrics.claimDuration.observe((performance.now() - claimStarted) / 1000);
          this.events.onError?.(err, 'claim');
          await sleep(errorDelay);
          errorDelay = Math.min(errorDelay * 2, 5_000);
          continue;
        }
        this.countClaims(claimed, claimStarted);
        for (const c of claimed) this.launch(c, claimStarted);
        if (claimed.length === free && this.state === 'running') continue; // there may be more
        if (this.servesQueued && this.state === 'running') await this.wakeForRateWindow(keys);
      }
      await this.waitForWake();
    }
  }

  /**
   * The claim came back short: if a queue held back first starts for its rate, wake when its window
   * frees rather than at the next poll (nothing notifies that moment: it is only time passing).
   */
  private async wakeForRateWindow(keys: string[]): Promise<void> {
    try {
      this.wakeIn(await nextQueueAdmission(this.db, keys));
    } catch (err) {
      this.events.onError?.(err, 'claim'); // the next poll still admits
    }
  }

  private waitForWake(): Promise<void> {
    if (this.wakePending || this.state !== 'running') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private countClaims(claimed: ClaimedExecution[], started: number): void {
    this.metrics.claimDuration.observe((performance.now() - started) / 1000);
    this.metrics.claimedExecutions.inc(claimed.length);
    // resumed: its lease had expired under another worker (the claim recorded a node fault for it).
    for (const c of claimed) {
      if (c.resumed) this.metrics.leaseExpiries.inc();
      if (c.queueName !== undefined) {
        this.servesQueued = true;
        this.metrics.queueAdmissions.labels(c.queueName).inc();
      }
    }
  }

  private launch(claimed: ClaimedExecution, confirmedAt: number): void {
    const workflow = this.workflows.get(`${claimed.workflow}@${claimed.version}`);
    if (!workflow) return; // cannot happen: the claim filters by our keys
    this.stats.claimed++;
    const abort = new AbortController();
    const entry: Running = { claimed, abort, done: Promise.resolve(), confirmedAt, inTransaction: 0 };
    this.running.set(claimed.executionId, entry);
    const series = this.metrics.forWorkflow(claimed.workflow);
    this.metrics.activeExecutions.inc();
    entry.done = runExecution(
      {
        db: this.db,
        writer: this.writer,
        maxPayloadBytes: this.events.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        storedErrors: this.events.storedErrors,
        codec: this.events.codec,
        shouldYield: () => this.state !== 'running',
        signal: abort.signal,
        confirmLease: () => this.confirmLease(entry),
        holdRenewals: () => this.holdRenewals(entry),
        settleTimeoutMs: this.shutdownTimeoutMs,
        metrics: series,
        onStorageFault: (err) =>
          this.events.onError?.(
            err,
            `storage write of execution ${claimed.executionId} failed; it will be resumed from its journal once the database answers, and a step in flight whose completion was not recorded runs again with the same idempotency key`,
          ),
        onSuspended: (dueInMs) => this.wakeIn(dueInMs),
        onStepsRun: (run, replayed) => {
          this.stats.stepsRun += run;
          this.stats.stepsReplayed += replayed;
        },
      },
      claimed,
      workflow,
    ).then(
      (outcome) => {
        this.stats[outcome]++;
        if (outcome === 'completed') series.completed.inc();
        else if (outcome === 'failed') series.failed.inc();
        else if (outcome === 'compensated') series.compensated.inc();
        else if (outcome === 'leaseLost' && !entry.stopped) void this.countLeaseLoss(claimed.executionId);
        this.events.onFinished?.(claimed.executionId, outcome);
      },
      // A write failed (the database is unreachable, say): the execution stays RUNNING under our lease,
      // which is no longer renewed once it leaves `running`, so it expires and the execution is resumed.
      (err) => this.events.onError?.(err, `execution ${claimed.executionId}`),
    ).finally(() => {
      this.metrics.activeExecutions.dec();
      // Only our own entry: the claim never hands a worker an execution it is still running (p_running),
      // but an entry of a later run must never be dropped by an earlier one's end.
      if (this.running.get(claimed.executionId) === entry) this.running.delete(claimed.executionId);
      this.poke();
    });
  }

  /** When (performance.now()) the last renewal that succeeded was sent, or the heartbeat found nothing to renew. */
  private lastRenewal = performance.now();

  /** The renewal in flight, if any: a slow one is not stacked on (each would hold a connection). */
  private renewal: Promise<void> | undefined;
  /** The runs the renewal in flight renews. */
  private renewing = new Set<Running>();

  private async renew(): Promise<void> {
    if (this.running.size === 0) this.lastRenewal = performance.now();
    else if (!this.renewal) await this.renewAll();
    await this.beat();
  }

  private register(): Promise<void> {
    return registerWorker(this.db, {
      workerId: this.id,
      host: hostname(),
      pid: process.pid,
      workflows: [...this.workflows.keys()],
      concurrency: this.concurrency,
      leaseMs: this.leaseMs,
    });
  }

  /** The registry heartbeat in flight: a slow one is not stacked on. */
  private beating = false;

  /** The registry's heartbeat, leases held or not; a row pruned or marked stopped meanwhile is written again. */
  private async beat(): Promise<void> {
    if ((this.state !== 'running' && this.state !== 'stopping') || this.beating) return;
    this.beating = true;
    try {
      if (!(await heartbeatWorker(this.db, this.id)) && this.state === 'running') await this.register();
    } catch (err) {
      this.events.onError?.(err, 'heartbeat');
    } finally {
      this.beating = false;
    }
  }

  /** Renews every lease held; the one renewal in flight, shared by whoever asks meanwhile. */
  private renewAll(): Promise<void> {
    if (!this.renewal) {
      // Not the rows a transactional step is about to fence or holds: an update of the row committed
      // after the step's snapshot was taken makes its fence fail (40001 under REPEATABLE READ and
      // SERIALIZABLE), and while the step holds the row no other worker can claim it anyway.
      const entries = [...this.running.values()].filter((r) => r.inTransaction === 0);
      this.renewing = new Set(entries);
      this.renewal = this.renewOnce(entries).finally(() => {
        this.renewal = undefined;
        this.renewing = new Set();
      });
    }
    return this.renewal;
  }

  private async renewOnce(entries: Running[]): Promise<void> {
    const held = entries.map((r) => ({ executionId: r.claimed.executionId, token: r.claimed.token }));
    // Taken before the request leaves: the database extends each lease from a moment after this one.
    const sent = performance.now();
    try {
      const owned = await renewLeases(this.db, this.id, held, this.leaseMs);
      this.lastRenewal = sent;
      entries.forEach((entry, i) => {
        const lease = held[i]!;
        if (!owned.has(lease.executionId)) this.loseLease(lease);
        else if (entry.claimed.token === lease.token) entry.confirmedAt = Math.max(entry.confirmedAt, sent);
      });
    } catch (err) {
      this.events.onError?.(err, 'heartbeat');
      // Unable to renew for a whole lease period: assume every lease is gone rather than keep acting.
      if (performance.now() - this.lastRenewal > this.leaseMs) for (const lease of held) this.loseLease(lease);
    }
  }

  /**
   * Before a run starts a step body, a transactional step or a compensation: nothing to wait for while
   * the lease's last confirmation is fresh (lease-confirmation.ts); else the lease is renewed first and
   * the run abandoned (its signal aborted, LeaseLostError thrown) if that cannot confirm it.
   */
  private confirmLease(entry: Running): Promise<void> | undefined {
    if (entry.abort.signal.aborted) return Promise.reject(entry.abort.signal.reason as Error);
    if (leaseIsFresh(entry.confirmedAt, performance.now(), this.leaseMs)) return undefined;
    return this.renewStale(entry);
  }

  private async renewStale(entry: Running): Promise<void> {
    const fresh = () => leaseIsFresh(entry.confirmedAt, performance.now(), this.leaseMs);
    // A renewal in flight may have been sent before a stall: then it confirms too little, and one more is sent.
    if (this.renewal) await this.renewal;
    // A run inside a transactional step (a parallel branch of it) renews its own lease alone.
    if (!entry.abort.signal.aborted && !fresh()) await (entry.inTransaction > 0 ? this.renewOnce([entry]) : this.renewAll());
    if (!entry.abort.signal.aborted && !fresh()) {
      const { executionId } = entry.claimed;
      entry.abort.abort(new LeaseLostError(`worker ${this.id} could not confirm its lease on execution ${executionId} in time; it abandons the run`));
    }
    if (entry.abort.signal.aborted) throw entry.abort.signal.reason as Error;
  }

  /**
   * Before a transactional step opens its transaction: the heartbeat stops renewing the execution's
   * row until the returned release is called (when the transaction has ended), and a renewal of it in
   * flight is waited for, so that no renewal commits between the transaction's snapshot and its fence.
   */
  private async holdRenewals(entry: Running): Promise<() => void> {
    entry.inTransaction++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.inTransaction--;
    };
    if (this.renewal && this.renewing.has(entry)) await this.renewal;
    return release;
  }

  /** Aborts the run holding `lease`, if it is still the one running (not a later claim of the same id). */
  private loseLease({ executionId, token }: { executionId: string; token: number }): void {
    const entry = this.running.get(executionId);
    if (entry && entry.claimed.token === token && !entry.abort.signal.aborted) {
      entry.abort.abort(new LeaseLostError(`worker ${this.id} lost its lease on execution ${executionId}`));
    }
  }

  private stopping: Promise<void> | undefined;

  /** Stops claiming, lets running steps finish (handing executions back), then releases resources. Every
   *  call, however many, resolves only when the worker has stopped. */
  stop(): Promise<void> {
    if (this.state === 'new') this.state = 'stopped';
    if (this.state === 'stopped' && !this.stopping) return Promise.resolve();
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.state = 'stopping';
    this.poke(); // also seen by a loop that is between waits (mid-claim), unlike calling wake alone
    await this.loop;
    const all = Promise.allSettled([...this.running.values()].map((r) => r.done));
    const timeout = new Promise<void>((r) => setTimeout(r, this.shutdownTimeoutMs).unref());
    await Promise.race([all, timeout]);
    clearInterval(this.heartbeat);
    await this.scheduler?.stop();
    // Whatever still runs keeps its lease until it expires; then another worker resumes it.
    for (const entry of this.running.values()) {
      entry.stopped = true;
      entry.abort.abort(new LeaseLostError(`worker ${this.id} stopped`));
    }
    await this.unlisten?.().catch(() => {});
    await deregisterWorker(this.db, this.id).catch((err: unknown) => this.events.onError?.(err, 'deregister'));
    this.state = 'stopped';
  }

  /** A lost lease is a takeover unless an operator cancelled the execution (which ends its lease too). */
  private async countLeaseLoss(executionId: string): Promise<void> {
    const state = await readLeaseState(this.db, executionId).catch(() => undefined);
    if (state?.status !== 'CANCELLED') this.metrics.leasesLost.inc();
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidDefinitionError(`worker option ${name} must be a positive integer, got ${value}`);
  return value;
}
