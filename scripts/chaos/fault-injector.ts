/**
 * The faults of a chaos run, one at a time at seeded random intervals (0.5 to 1.5 times the mean gap)
 * until told to stop:
 *
 *   kill        SIGKILL a running worker; the pool starts a new one at once
 *   stall       SIGSTOP a running worker for 1.5 to 3 leases, then SIGCONT: its executions are taken over
 *               meanwhile, and it resumes as a zombie that no longer holds their leases
 *   restart     the cluster restarted in immediate mode
 *   takeover    SIGKILL a worker, then restart the cluster one to one and a half leases later: while the
 *               other workers are claiming the dead one's executions
 *   terminate   pg_terminate_backend of one to three worker backends
 *
 * The first five faults are one of each kind, in a seeded order, so a short run meets every kind; after
 * them each kind is drawn by its weight. At least one worker is left running (a stall is not started when it would stop the last one). The kind,
 * the gap and the victims come from the seeded random; which processes are running when it picks depends
 * on the machine's timing.
 */
import type { SeededRandom } from '../../test/helpers/seeded-random.js';
import type { ChaosCluster } from './cluster.js';
import type { WorkerPool } from './worker-pool.js';

export const FAULT_KINDS = ['kill', 'stall', 'restart', 'takeover', 'terminate'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const WEIGHTS: Record<FaultKind, number> = { kill: 0.3, stall: 0.2, restart: 0.12, takeover: 0.08, terminate: 0.3 };

export interface FaultCounts {
  kill: number;
  stall: number;
  restart: number;
  takeover: number;
  /** Backends terminated (a terminate fault ends one to three). */
  terminate: number;
  /** Faults drawn but not applied: no worker to pick, or the database refused the terminate. */
  skipped: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pick(random: SeededRandom): FaultKind {
  let x = random.next();
  for (const kind of FAULT_KINDS) {
    x -= WEIGHTS[kind];
    if (x < 0) return kind;
  }
  return 'terminate';
}

export class FaultInjector {
  readonly counts: FaultCounts = { kill: 0, stall: 0, restart: 0, takeover: 0, terminate: 0, skipped: 0 };
  readonly log: string[] = [];
  private stopped = false;
  private readonly stalls = new Set<Promise<void>>();
  private readonly startedAt = Date.now();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly pool: WorkerPool,
    private readonly random: SeededRandom,
    private readonly leaseMs: number,
    private readonly meanGapMs: number,
  ) {}

  /** Injects faults until stop(); resolves once the last one is over (stalled workers resumed). */
  async run(): Promise<void> {
    const firsts = this.random.shuffle(FAULT_KINDS);
    while (!this.stopped) {
      await sleep(Math.round(this.meanGapMs * (0.5 + this.random.next())));
      if (this.stopped) break;
      await this.inject(firsts.shift() ?? pick(this.random));
    }
    await Promise.all(this.stalls);
  }

  stop(): void {
    this.stopped = true;
  }

  private note(text: string): void {
    this.log.push(`${((Date.now() - this.startedAt) / 1000).toFixed(1)}s ${text}`);
  }

  private victim(): ReturnType<WorkerPool['running']>[number] | undefined {
    const running = this.pool.running();
    return running.length === 0 ? undefined : running[this.random.int(0, running.length - 1)];
  }

  private async inject(kind: FaultKind): Promise<void> {
    if (kind === 'restart') {
      this.note('restart -m immediate');
      await this.cluster.restartImmediate();
      this.counts.restart++;
      return;
    }
    if (kind === 'terminate') {
      const want = this.random.int(1, 3);
      const done = await this.cluster.terminateWorkerBackends(want, this.random).catch(() => 0);
      if (done === 0) this.counts.skipped++;
      this.counts.terminate += done;
      this.note(`terminate ${done} worker backends`);
      return;
    }
    const w = this.victim();
    if (!w || (kind === 'stall' && this.pool.running().length < 2)) {
      this.counts.skipped++;
      return;
    }
    if (kind === 'stall') {
      const ms = Math.round(this.leaseMs * (1.5 + 1.5 * this.random.next()));
      this.note(`stall worker ${w.index} (pid ${w.pid}) for ${ms} ms`);
      this.counts.stall++;
      const stall = this.pool.stall(w, ms);
      this.stalls.add(stall);
      void stall.then(() => this.stalls.delete(stall));
      return;
    }
    this.note(`kill worker ${w.index} (pid ${w.pid})`);
    this.pool.kill(w);
    if (kind === 'kill') {
      this.counts.kill++;
      return;
    }
    const waitMs = Math.round(this.leaseMs * (1 + 0.5 * this.random.next()));
    await sleep(waitMs);
    this.note(`restart -m immediate ${waitMs} ms after the kill (takeover)`);
    await this.cluster.restartImmediate();
    this.counts.takeover++;
  }
}
