/**
 * The chaos run's worker processes (./worker-process.ts): `size` of them alive at once, each replaced as
 * soon as it dies. The fault injector SIGKILLs them and SIGSTOPs them (then SIGCONTs them); a worker that
 * dies without being killed is counted (and replaced), its last stderr lines kept for the report. Every
 * worker's stderr goes to <logDir>/worker-<index>-<pid>.log. stopAll() SIGCONTs the stalled, SIGTERMs
 * every worker and SIGKILLs those that have not exited after a grace period; each by its own PID. A
 * worker whose parent is gone exits by itself (its stdin closes), and the parent's exit SIGKILLs any left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SCRIPT = resolve(ROOT, 'scripts/chaos/worker-process.ts');

export interface PoolWorker {
  index: number;
  pid: number;
  process: ChildProcess;
  stalled: boolean;
  killed: boolean;
  exited: boolean;
  tail: string[];
  log: WriteStream;
}

export interface PoolOptions {
  size: number;
  databaseUrl: string;
  leaseMs: number;
  concurrency: number;
  logDir: string;
}

export class WorkerPool {
  private readonly workers = new Set<PoolWorker>();
  private spawned = 0;
  private stopping = false;
  /** Workers that died without being killed: pid, exit, their last stderr lines. */
  readonly unexpectedExits: string[] = [];

  private readonly onExit = () => {
    for (const w of this.workers) if (!w.exited) process.kill(w.pid, 'SIGKILL');
  };

  constructor(private readonly options: PoolOptions) {
    process.once('exit', this.onExit);
  }

  get started(): number {
    return this.spawned;
  }

  start(): void {
    while (this.workers.size < this.options.size) this.spawnOne();
  }

  /** Alive and not stalled: the ones a fault may pick. */
  running(): PoolWorker[] {
    return [...this.workers].filter((w) => !w.exited && !w.stalled && !w.killed);
  }

  kill(w: PoolWorker): void {
    if (w.exited) return;
    w.killed = true;
    process.kill(w.pid, 'SIGKILL');
  }

  /** SIGSTOP now, SIGCONT after `ms` (or at stopAll, whichever comes first). */
  stall(w: PoolWorker, ms: number): Promise<void> {
    if (w.exited) return Promise.resolve();
    w.stalled = true;
    process.kill(w.pid, 'SIGSTOP');
    return new Promise((done) => {
      setTimeout(() => {
        this.resume(w);
        done();
      }, ms);
    });
  }

  private resume(w: PoolWorker): void {
    if (w.stalled && !w.exited) process.kill(w.pid, 'SIGCONT');
    w.stalled = false;
  }

  private spawnOne(): void {
    const index = this.spawned++;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
      cwd: ROOT,
      env: {
        ...process.env,
        CHAOS_DATABASE_URL: this.options.databaseUrl,
        CHAOS_WORKER_INDEX: String(index),
        CHAOS_LEASE_MS: String(this.options.leaseMs),
        CHAOS_CONCURRENCY: String(this.options.concurrency),
      },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    if (child.pid === undefined) throw new Error('could not start a chaos worker process');
    const log = createWriteStream(join(this.options.logDir, `worker-${index}-${child.pid}.log`));
    const w: PoolWorker = { index, pid: child.pid, process: child, stalled: false, killed: false, exited: false, tail: [], log };
    child.stderr!.on('data', (d: Buffer) => {
      log.write(d);
      w.tail.push(...d.toString().split('\n').filter((l) => l !== ''));
      if (w.tail.length > 20) w.tail.splice(0, w.tail.length - 20);
    });
    child.on('close', (code, signal) => {
      w.exited = true;
      log.end();
      this.workers.delete(w);
      if (!w.killed && !this.stopping) {
        this.unexpectedExits.push(`worker ${w.index} (pid ${w.pid}) exited with ${signal ?? code}: ${w.tail.slice(-5).join(' | ')}`);
      }
      if (!this.stopping) this.start();
    });
    this.workers.add(w);
  }

  async stopAll(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const all = [...this.workers];
    for (const w of all) this.resume(w);
    const exits = all.map((w) => new Promise<void>((done) => (w.exited ? done() : w.process.once('close', () => done()))));
    for (const w of all) if (!w.exited) process.kill(w.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const w of all) if (!w.exited) process.kill(w.pid, 'SIGKILL');
    }, graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
    process.off('exit', this.onExit);
  }
}
