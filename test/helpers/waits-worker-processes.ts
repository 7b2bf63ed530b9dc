/**
 * Worker processes for the wait fault tests (test/fixtures/waits-worker.ts): starting one, reading its
 * events, and running them until every execution has finished while some are SIGKILLed.
 *
 * The first workers started die at named crash points of a wait or a step (ARIES_CRASH_AT, one per point),
 * one at a time and alone, so each reaches its point and those moments are covered on every run; then `kills` workers are SIGKILLed at random, each when the
 * count of completed steps passes a seeded random threshold, after a random 0–80 ms (kills timed by
 * progress land in the middle of the run however fast the machine is). A dead worker is replaced at once
 * (on PGlite, where one process at a time may open the data dir, after it is gone). Every child this file
 * started is killed by PID in afterAll if any is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { SeededRandom } from './seeded-random.js';
import { followJsonLines } from './json-lines.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SCRIPT = resolve(ROOT, 'test/fixtures/waits-worker.ts');

export interface WaitsWorker {
  process: ChildProcess;
  pid: number;
  /** Completed steps at this worker's first progress report (a random kill waits for progress beyond it). */
  stepsAtStart: number | undefined;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  killedByTest: boolean;
  done: boolean;
  /** Set for a worker that kills itself at a crash point: the random kills leave it alone. */
  crashAt: string | undefined;
}

export type WorkerEvent = Record<string, unknown> & { event: string };

const live = new Set<WaitsWorker>();
afterAll(() => {
  for (const w of live) if (w.process.exitCode === null && w.process.signalCode === null) process.kill(w.pid, 'SIGKILL');
});

export const alive = (w: WaitsWorker) => w.process.exitCode === null && w.process.signalCode === null;

export function spawnWaitsWorker(env: Record<string, string>, onEvent: (w: WaitsWorker, e: WorkerEvent) => void): WaitsWorker {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error('could not start a waits worker process');
  const w: WaitsWorker = {
    process: proc,
    pid: proc.pid,
    stepsAtStart: undefined,
    stdout: '',
    stderr: '',
    killedByTest: false,
    done: false,
    crashAt: env.ARIES_CRASH_AT,
    exit: new Promise((done) => proc.on('close', (code, signal) => done({ code, signal }))),
  };
  live.add(w);
  void w.exit.then(() => live.delete(w));
  followJsonLines<WorkerEvent>(proc, w, (event) => {
    if (event.event === 'done') w.done = true;
    onEvent(w, event);
  });
  return w;
}

export interface KillPlan {
  /** Worker processes alive at once (1 on PGlite). */
  parallel: number;
  /** Random SIGKILLs, on top of the crash points. */
  kills: number;
  /** About how many steps complete in the whole run: the kill thresholds are spread over it. */
  expectedSteps: number;
  /** `<point>:<step key>` for the first workers started, one each. */
  crashPoints: readonly string[];
  timeoutMs: number;
  /** No step completed for this long while executions are left: stuck (default 20 s). */
  stallMs?: number;
}

export interface KillReport {
  spawned: number;
  killed: number;
  /** Crash points a worker died at, as asked. */
  crashed: string[];
  /** Signals sent by the workers (PGlite), and how many of those were answered duplicate. */
  sent: number;
  duplicates: number;
  sendErrors: string[];
  /** The seed, the thresholds and each kill, for failure messages. */
  log: string[];
}

/**
 * Runs workers with `env` (and `perWorker(i)` for the i-th) until one finds nothing left to run and all
 * have exited, killing them as the plan says. Rejects when a worker dies without being killed, when no
 * step completes for `stallMs`, or at the plan's timeout; every worker is dead when it settles.
 */
export async function runWaitsWorkersWithKills(
  env: Record<string, string>,
  plan: KillPlan,
  random: SeededRandom,
  perWorker: (index: number) => Record<string, string> = () => ({}),
): Promise<KillReport> {
  const thresholds = Array.from({ length: plan.kills }, () => ({
    at: Math.floor(plan.expectedSteps * (0.05 + 0.8 * random.next())),
    delayMs: random.int(0, 80),
  })).sort((a, b) => a.at - b.at);
  const report: KillReport = {
    spawned: 0,
    killed: 0,
    crashed: [],
    sent: 0,
    duplicates: 0,
    sendErrors: [],
    log: [`kills at random (seed ${random.seed}) at ${thresholds.map((t) => t.at).join(', ')} completed steps`],
  };
  const workers = new Set<WaitsWorker>();
  let next = 0;
  let killPending = false;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();

  let lastSteps = -1;
  let lastProgressAt = Date.now();
  const onEvent = (w: WaitsWorker, event: WorkerEvent) => {
    if (event.event === 'progress' && Number(event.steps) !== lastSteps) {
      lastSteps = Number(event.steps);
      lastProgressAt = Date.now();
    }
    if (event.event === 'sent') {
      report.sent++;
      if (event.duplicate === true) report.duplicates++;
    }
    if (event.event === 'send-error') report.sendErrors.push(String(event.error));
    if (event.event === 'done') {
      finished = true;
      poke();
    }
    if (event.event !== 'progress' || w.crashAt !== undefined) return;
    const steps = Number(event.steps);
    w.stepsAtStart ??= steps;
    const kill = thresholds[next];
    if (killPending || !kill || steps < kill.at || steps <= w.stepsAtStart) return;
    killPending = true;
    next++;
    setTimeout(() => {
      killPending = false;
      if (!alive(w) || w.done) return; // it finished first
      w.killedByTest = true;
      process.kill(w.pid, 'SIGKILL');
      report.killed++;
      report.log.push(`kill: pid ${w.pid} at ${steps}+ completed steps, after ${kill.delayMs} ms`);
    }, kill.delayMs);
  };

  const deadline = Date.now() + plan.timeoutMs;
  while (!finished || workers.size > 0) {
    if (failure) break;
    if (Date.now() > deadline) {
      failure = new Error(`not every execution had finished after ${plan.timeoutMs} ms\n${report.log.join('\n')}`);
      break;
    }
    if (Date.now() - lastProgressAt > (plan.stallMs ?? 20_000)) {
      failure = new Error(`stuck: no step completed for ${plan.stallMs ?? 20_000} ms (${lastSteps} completed)\n${report.log.join('\n')}`);
      break;
    }
    // The crash-point workers run one at a time, alone: none is beaten to its point by a peer.
    const crashing = report.spawned < plan.crashPoints.length || [...workers].some((w) => w.crashAt !== undefined);
    while (!finished && workers.size < (crashing ? 1 : plan.parallel)) {
      const index = report.spawned;
      const crashAt = plan.crashPoints[index];
      const w = spawnWaitsWorker({ ...env, ...perWorker(index), ...(crashAt ? { ARIES_CRASH_AT: crashAt } : {}) }, onEvent);
      report.spawned++;
      workers.add(w);
      void w.exit.then(({ code, signal }) => {
        workers.delete(w);
        if (crashAt && signal === 'SIGKILL' && w.stderr.includes(`crash point ${crashAt} reached`)) {
          report.crashed.push(crashAt);
          report.log.push(`pid ${w.pid} died at its crash point ${crashAt}`);
        } else if (crashAt && code === 0 && w.done) {
          report.log.push(`pid ${w.pid} finished without reaching its crash point ${crashAt}`);
        } else if (!w.killedByTest && (code !== 0 || !w.done)) {
          failure ??= new Error(`worker ${w.pid} exited with ${signal ?? code} without being killed:\n${w.stderr}\n${w.stdout.slice(-2_000)}`);
        }
        poke();
      });
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 200);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
  for (const w of workers) {
    w.killedByTest = true;
    if (alive(w)) process.kill(w.pid, 'SIGKILL');
  }
  if (failure) throw failure;
  return report;
}
