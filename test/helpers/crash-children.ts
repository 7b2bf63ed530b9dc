/**
 * Child worker processes for crash tests (test/fixtures/crash-worker.ts): spawning one, collecting its
 * output, killing stragglers, and running a few cases at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { createEngine, type Execution, type JournalRecord, type Step, type WorkerStats } from '../../src/index.js';
import { SIDE_EFFECTS_DDL, type SideEffectRow } from '../fixtures/crash-workflow.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SCRIPT = resolve(ROOT, 'test/fixtures/crash-worker.ts');
/** Includes the wait for a slot among the cases running at once. */
export const CASE_TIMEOUT_MS = 180_000;

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Snapshot {
  execution: Execution;
  steps: Step[];
  journal: JournalRecord[];
  sideEffects: SideEffectRow[];
  leaseToken: number;
}

export interface Report {
  event: 'report';
  atCrash: Snapshot;
  after: Snapshot;
  stats: WorkerStats;
}

/** Children still running, by test case; each case kills its own in a finally, afterAll any stragglers. */
export const live = new Set<ChildProcess>();

export function killAll(children: Iterable<ChildProcess>): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
}

export function runWorker(
  mode: 'crash' | 'recover',
  env: Record<string, string>,
  mine: Set<ChildProcess>,
  timeoutMs = 45_000,
): Promise<ChildResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, mode], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    mine.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => killAll([child]), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      mine.delete(child);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** At most `n` cases of a backend at once: PGlite start-up is CPU-bound, server cases mostly wait on leases. */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async (fn) => {
    if (active < n) active++;
    else await new Promise<void>((r) => queue.push(r)); // a finishing case hands its slot over
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

export function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Embedded data dirs for crash cases: one migrated template (with the side-effects table) made before the
 * file's tests, so no case pays for initdb and migration, and a fresh copy of it per case. Removed after.
 */
export function embeddedDataDirs(prefix: string): (name: string) => string {
  let root = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), prefix));
    const engine = await createEngine({ dataDir: join(root, 'template'), vacuumIntervalMs: 0 });
    await engine.db.exec(SIDE_EFFECTS_DDL);
    await engine.close();
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return (name) => {
    const dataDir = join(root, name);
    cpSync(join(root, 'template'), dataDir, { recursive: true });
    return dataDir;
  };
}

/**
 * One crash case: a worker child killed with SIGKILL at `point` of `stepKey` (checked: it died there, by
 * SIGKILL, after starting an execution), then a fresh child that recovers that execution and reports what
 * the crash left and how the execution ended.
 */
export async function crashThenRecover(
  env: Record<string, string>,
  point: string,
  stepKey: string,
  mine: Set<ChildProcess>,
): Promise<{ executionId: string; report: Report }> {
  const crashed = await runWorker('crash', { ...env, ARIES_CRASH_AT: `${point}:${stepKey}` }, mine);
  expect(crashed.stderr, 'the worker died at the crash point').toContain(`crash point ${point}:${stepKey} reached`);
  expect(crashed.signal).toBe('SIGKILL');
  const started = events(crashed.stdout).find((e) => e.event === 'started');
  expect(started, `no execution started; stderr:\n${crashed.stderr}`).toBeDefined();
  const executionId = String(started!.executionId);
  const recovered = await runWorker('recover', { ...env, CRASH_WORKER_EXECUTION: executionId }, mine);
  expect(recovered.code, `the recovering worker failed:\n${recovered.stderr}`).toBe(0);
  const report = events(recovered.stdout).find((e) => e.event === 'report') as unknown as Report | undefined;
  expect(report).toBeDefined();
  return { executionId, report: report! };
}
