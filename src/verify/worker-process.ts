/**
 * Runs one verify worker process (verify-worker.ts) to its end and collects what it reported. Reports
 * travel on file descriptor 3, so whatever the user's workflow prints on stdout or stderr cannot be
 * mistaken for them. A crash point kills the process with SIGKILL: that is an answer here, not an error.
 * Every process is tracked, so an interrupted verify kills its children by PID before it cleans up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExecutionReport } from './execution-report.js';

/** A signal verify sends the execution (aries verify --signal name=json). */
export interface VerifySignal {
  name: string;
  payload?: unknown;
}

export interface WorkerRun {
  /** Where the store is: an embedded data dir or a server database. */
  store: { dataDir: string } | { databaseUrl: string };
  modulePath: string;
  workflow: string;
  /** Start the execution with this input (undefined: resume `executionId`). */
  start?: { input: unknown };
  executionId?: string;
  /** Sent to the execution once it is WAITING, under idempotency keys every process shares. */
  signals?: readonly VerifySignal[];
  /** ARIES_CRASH_AT for this process: `<point>:<step key>`. */
  crashAt?: string;
  /** How long the worker waits for the execution to come to rest. */
  timeoutMs: number;
}

export interface WorkerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  executionId: string | undefined;
  report: ExecutionReport | undefined;
  /** False when the execution had not come to rest when the worker gave up waiting. */
  settled: boolean;
  /** A resuming worker: the newest LSN of the execution's and its children's journals when it opened the store (what the crash left). */
  resumedFromLsn: number | null;
}

const live = new Set<ChildProcess>();
const STDERR_KEPT = 64 * 1024;

/** Kills every worker process still running (an interrupted verify). */
export function killWorkers(): void {
  for (const child of live) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // it exited in the meantime
    }
  }
}

/** The compiled worker next to this file (dist/), or the TypeScript one through tsx when run from src/. */
function workerCommand(): string[] {
  const js = fileURLToPath(new URL('./verify-worker.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./verify-worker.ts', import.meta.url))];
}

function argsFor(run: WorkerRun): string[] {
  const args = [...workerCommand(), '--module', run.modulePath, '--workflow', run.workflow, '--timeout-ms', String(run.timeoutMs)];
  if ('dataDir' in run.store) args.push('--data-dir', run.store.dataDir);
  else args.push('--database-url', run.store.databaseUrl);
  if (run.start) args.push('--start', '--input', JSON.stringify(run.start.input ?? null));
  if (run.executionId) args.push('--execution', run.executionId);
  if (run.signals && run.signals.length > 0) args.push('--signals', JSON.stringify(run.signals));
  return args;
}

export function runWorker(run: WorkerRun): Promise<WorkerResult> {
  const env = { ...process.env };
  delete env.ARIES_CRASH_AT; // only the process meant to crash gets one, never one from the user's shell
  if (run.crashAt) env.ARIES_CRASH_AT = run.crashAt;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argsFor(run), { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stderr = '';
    let events = '';
    child.stdout!.resume(); // the workflow's own output; not ours to show
    // Only the tail is kept: a chatty workflow must not fill memory, and the crash line comes last.
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEPT)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (events += d.toString('utf8')));
    // The worker bounds its own wait; this only catches a worker that hangs anyway (opening a store, say).
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs + 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const result: WorkerResult = { code, signal, stderr, executionId: undefined, report: undefined, settled: false, resumedFromLsn: null };
      for (const line of events.split('\n')) {
        if (line.trim() === '') continue;
        let event: { event?: string; executionId?: string; report?: ExecutionReport; settled?: boolean; resumedFromLsn?: number | null };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          continue; // not a whole report line: the process died while writing it
        }
        if (event.event === 'started') result.executionId = event.executionId;
        if (event.event === 'report') {
          result.report = event.report;
          result.settled = event.settled === true;
          result.resumedFromLsn = event.resumedFromLsn ?? null;
        }
      }
      resolve(result);
    });
  });
}

/** The last lines of a process's stderr, for an error message. */
export function stderrTail(stderr: string, lines = 15): string {
  return stderr.trimEnd().split('\n').slice(-lines).join('\n');
}
