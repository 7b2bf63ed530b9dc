/**
 * Worker processes for the queue fault test (test/fixtures/queues-worker.ts): started `processes` at a
 * time, SIGKILLed at seeded random moments (a random gap after the previous kill, a random process among
 * those ready for at least minLifeMs) and replaced at once (on PGlite, where one process at a time may open the data dir, once
 * the killed one is gone), until one of them finds nothing left to run.
 *
 * Each kill's time is read on the database clock (`killClock`) once the killed process has exited: no
 * statement of that process can run after it, so every row it wrote is earlier, and the intervals it left
 * open end there at the latest. Every child this file started is killed by PID in afterAll if any is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { SeededRandom } from './seeded-random.js';
import { followJsonLines } from './json-lines.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SCRIPT = resolve(ROOT, 'test/fixtures/queues-worker.ts');

interface QueueWorkerProcess {
  process: ChildProcess;
  pid: number;
  ready: boolean;
  /** When it reported ready (Date.now()): a kill spares a process younger than the plan's minLifeMs. */
  readyAt: number;
  done: boolean;
  killedByTest: boolean;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<QueueWorkerProcess>();
afterAll(() => {
  for (const w of live) if (alive(w)) process.kill(w.pid, 'SIGKILL');
});

const alive = (w: QueueWorkerProcess) => w.process.exitCode === null && w.process.signalCode === null;

type WorkerEvent = Record<string, unknown> & { event: string };

function spawnQueueWorker(env: Record<string, string>, onEvent: (w: QueueWorkerProcess, e: WorkerEvent) => void): QueueWorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error('could not start a queues worker process');
  const w: QueueWorkerProcess = {
    process: proc,
    pid: proc.pid,
    ready: false,
    readyAt: 0,
    done: false,
    killedByTest: false,
    stdout: '',
    stderr: '',
    exit: new Promise((done) => proc.on('close', (code, signal) => done({ code, signal }))),
  };
  live.add(w);
  void w.exit.then(() => live.delete(w));
  followJsonLines<WorkerEvent>(proc, w, (event) => onEvent(w, event));
  return w;
}

export interface QueueKillPlan {
  /** Worker processes alive at once (1 on PGlite). */
  processes: number;
  /** SIGKILLs at most (fewer if the work is done first). */
  kills: number;
  /** The gap before each kill, from the previous one (or the start), drawn in [min, max] ms. */
  gapMs: readonly [number, number];
  /** A process is killed only once it has been ready this long (so it claims and runs before it dies). */
  minLifeMs: number;
  timeoutMs: number;
  /** No execution finished for this long while some are left: stuck. */
  stallMs: number;
}

export interface KillRecord {
  pid: number;
  /** Database clock, µs since the epoch, read after the process exited. */
  atUs: number;
}

export interface QueueRunReport {
  spawned: number;
  kills: KillRecord[];
  /** Each surviving worker's stats (WorkerStats and its id), from the processes that finished. */
  stats: Array<Record<string, number | string>>;
  log: string[];
}

/**
 * Runs worker processes with `env` until one reports nothing left and all have exited, killing them as
 * the plan says. Rejects when a process dies without being killed, on a stall or at the timeout; every
 * process is dead when it settles.
 */
export async function runQueueWorkersWithKills(
  env: Record<string, string>,
  plan: QueueKillPlan,
  random: SeededRandom,
  killClock: () => Promise<number>,
): Promise<QueueRunReport> {
  const report: QueueRunReport = { spawned: 0, kills: [], stats: [], log: [`kills at random (seed ${random.seed})`] };
  const processes = new Set<QueueWorkerProcess>();
  const started = Date.now();
  let nextKillAt = started + random.int(...plan.gapMs);
  let finished = false;
  let failure: Error | undefined;
  let open = -1;
  let lastProgressAt = Date.now();
  let wake: (() => void) | undefined;

  const onEvent = (w: QueueWorkerProcess, event: WorkerEvent) => {
    if (event.event === 'ready') {
      w.ready = true;
      w.readyAt = Date.now();
    }
    if (event.event === 'progress') {
      const now = Number(event.open);
      if (now !== open) lastProgressAt = Date.now();
      open = now;
    }
    if (event.event === 'done') {
      w.done = true;
      finished = true;
      report.stats.push(...(event.stats as Array<Record<string, number | string>>));
      wake?.();
    }
  };

  const kill = async (w: QueueWorkerProcess) => {
    w.killedByTest = true;
    process.kill(w.pid, 'SIGKILL');
    await w.exit;
    const atUs = await killClock();
    report.kills.push({ pid: w.pid, atUs });
    report.log.push(`kill ${report.kills.length}: pid ${w.pid} at +${Date.now() - started} ms, ${open} executions open`);
  };

  const deadline = started + plan.timeoutMs;
  while (!finished || processes.size > 0) {
    if (failure) break;
    if (Date.now() > deadline) {
      failure = new Error(`not every execution had finished after ${plan.timeoutMs} ms (${open} open)\n${report.log.join('\n')}`);
      break;
    }
    if (!finished && Date.now() - lastProgressAt > plan.stallMs) {
      failure = new Error(`stuck: no execution finished for ${plan.stallMs} ms (${open} open)\n${report.log.join('\n')}`);
      break;
    }
    const ready = [...processes].filter((w) => w.ready && alive(w) && !w.done && Date.now() - w.readyAt >= plan.minLifeMs);
    if (!finished && report.kills.length < plan.kills && Date.now() >= nextKillAt && ready.length > 0) {
      const victim = ready[random.int(0, ready.length - 1)]!;
      await kill(victim);
      nextKillAt = Date.now() + random.int(...plan.gapMs);
    }
    while (!finished && processes.size < plan.processes) {
      const w = spawnQueueWorker(env, onEvent);
      report.spawned++;
      processes.add(w);
      void w.exit.then(({ code, signal }) => {
        processes.delete(w);
        if (!w.killedByTest && (code !== 0 || !w.done)) {
          failure ??= new Error(`worker process ${w.pid} exited with ${signal ?? code} without being killed:\n${w.stderr}\n${w.stdout.slice(-2_000)}`);
        }
        wake?.();
      });
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 50);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  if (failure) {
    for (const w of processes) report.log.push(`pid ${w.pid}${w.ready ? '' : ' (not ready)'} stderr:\n${w.stderr.slice(-3_000)}\nstdout:\n${w.stdout.slice(-500)}`);
    failure.message += `\n${report.log.slice(-processes.size).join('\n')}`;
  }
  for (const w of processes) {
    w.killedByTest = true;
    if (alive(w)) process.kill(w.pid, 'SIGKILL');
  }
  await Promise.all([...processes].map((w) => w.exit));
  if (failure) throw failure;
  return report;
}
