/**
 * `npm run demo`: kill a worker mid-execution and watch Aries finish the work without losing a step or
 * repeating a completed one. Everything runs on the embedded backend in `.aries-demo` (recreated each time).
 *
 * Only one process may hold an embedded data dir, so this process never opens it while a worker holds it:
 * it reaches the instance through the worker that holds it (ifDataDirHeld: 'connect'), and reads the
 * side effects from their log file. Exit code 0 only when every promise checked in demo-report.ts held.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveHolder } from '../db/data-dir-lock.js';
import { createEngine, type Engine } from '../index.js';
import { judgeDemo, type DemoExecution } from './demo-report.js';
import { createDemoWorkflow, DEMO_STEPS, readEffects, type EffectLine } from './demo-workflows.js';

const DATA_DIR = resolve('.aries-demo');
const EFFECTS_LOG = resolve('.aries-demo-effects.log');
const EXECUTIONS = 5;
const CONCURRENCY = 2;
const LEASE_MS = 2_000;
/** Worker #1 dies right after this many step side effects, in the middle of later executions. */
const KILL_AFTER_EFFECTS = 12;
/** Waiting for the workers, and the whole demo: it never hangs, whatever goes wrong. */
const TIMEOUT_MS = 90_000;
const DEMO_TIMEOUT_MS = 180_000;

const children = new Set<ChildProcess>();
const orderOf = new Map<string, number>();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (text = '') => process.stdout.write(`${text}\n`);

class DemoError extends Error {}

function killChildren(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
}

function removeLeftovers(): void {
  const holder = liveHolder(DATA_DIR);
  if (holder) throw new DemoError(`${DATA_DIR} is held by running process ${holder.pid} (${holder.command}); stop it first`);
  const prefix = basename(DATA_DIR);
  for (const entry of readdirSync(dirname(DATA_DIR))) {
    // The data dir, its lock files, scratch dirs of an interrupted first start, and the effects log.
    if (entry === prefix || entry.startsWith(`${prefix}.`) || entry.startsWith(`${prefix}-`)) {
      rmSync(resolve(dirname(DATA_DIR), entry), { recursive: true, force: true });
    }
  }
}

/** The compiled worker next to this file (dist/), or the TypeScript one through tsx when run from src/. */
function workerCommand(): string[] {
  const js = fileURLToPath(new URL('./demo-worker.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./demo-worker.ts', import.meta.url))];
}

/** Spawns a worker process and resolves once it holds the data dir and can be reached. */
function spawnWorker(label: string): Promise<ChildProcess> {
  const args = [...workerCommand(), '--data-dir', DATA_DIR, '--effects', EFFECTS_LOG];
  args.push('--lease-ms', String(LEASE_MS), '--concurrency', String(CONCURRENCY));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (process.env.ARIES_DEMO_VERBOSE) process.stderr.write(d);
  });
  return new Promise((resolveReady, reject) => {
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"event":"ready"')) resolveReady(child);
    });
    child.on('exit', (code, signal) =>
      reject(new DemoError(`worker ${label} exited (${signal ?? `code ${code}`}) before it was ready:\n${stderr}`)),
    );
    child.on('error', reject);
  });
}

/** Opens a client of the instance `holder` holds; refuses to open the data dir itself. */
async function connectThrough(holder: ChildProcess): Promise<Engine> {
  if (holder.exitCode !== null || holder.signalCode !== null) throw new DemoError('the worker holding the data dir has exited');
  const engine = await createEngine({ dataDir: DATA_DIR, ifDataDirHeld: 'connect' });
  if (engine.backend !== 'remote') {
    await engine.close();
    throw new DemoError('expected to reach the data dir through its worker, but opened it directly');
  }
  return engine;
}

function describeEffect(e: EffectLine, firstPid: number): string {
  const who = e.pid === firstPid ? 'worker #1' : 'worker #2';
  const key = `${e.executionId.slice(0, 8)}…:${e.stepKey}`;
  return `    ${who}: order #${orderOf.get(e.executionId) ?? '?'} ${e.stepKey.padEnd(14)} side effect ran (attempt ${e.attempt}, idempotency key ${key})`;
}

/** Prints new side effects as they appear until `until` says stop; returns the effects seen. */
async function watchEffects(firstPid: number, seen: { count: number }, until: (effects: EffectLine[]) => boolean | Promise<boolean>): Promise<EffectLine[]> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const effects = readEffects(EFFECTS_LOG);
    for (const e of effects.slice(seen.count)) say(describeEffect(e, firstPid));
    seen.count = effects.length;
    if (await until(effects)) return effects;
    if (Date.now() > deadline) throw new DemoError(`timed out after ${TIMEOUT_MS / 1000} s waiting for the workers`);
    await sleep(15);
  }
}

async function main(): Promise<void> {
  say('Aries crash demo');
  say('================');
  say('Aries records every step of a workflow in PostgreSQL (here: embedded PGlite in ./.aries-demo). Before a step');
  say('runs, its intent is journaled; after it returns, its output is committed. A worker that dies leaves its');
  say(`executions leased to it; when the lease (${LEASE_MS / 1000} s here) expires another worker resumes them: steps whose output was`);
  say('committed are replayed from the journal, not run again. Each step below appends a line to');
  say(`${basename(EFFECTS_LOG)} (its "side effect", standing in for charging a card), so we can count real runs.`);
  say();

  removeLeftovers();
  say(`[1/5] Starting worker #1 (a separate process: ${CONCURRENCY} executions at a time, lease ${LEASE_MS / 1000} s) on a fresh data dir...`);
  const first = await spawnWorker('#1');
  const firstPid = first.pid!;
  say(`      worker #1 is running as pid ${firstPid}.`);

  const workflow = createDemoWorkflow(EFFECTS_LOG);
  let client = await connectThrough(first);
  const ids: string[] = [];
  for (let order = 1; order <= EXECUTIONS; order++) {
    const handle = await client.start(workflow, { order }, { idempotencyKey: `demo-order-${order}` });
    orderOf.set(handle.id, order);
    ids.push(handle.id);
  }
  await client.close();
  say(`      started ${EXECUTIONS} executions of "${workflow.name}", each ${DEMO_STEPS.length} steps of ~300 ms: ${DEMO_STEPS.join(' → ')}`);
  say();

  say(`[2/5] Worker #1 works through them; we watch the side-effects log:`);
  const seen = { count: 0 };
  await watchEffects(firstPid, seen, (effects) => effects.length >= KILL_AFTER_EFFECTS);
  const killedAt = Date.now();
  process.kill(firstPid, 'SIGKILL');
  say();
  say(`[3/5] SIGKILL sent to worker #1 (pid ${firstPid}) after ${seen.count} side effects. It gets no chance to clean up:`);
  say('      the executions it was running stay RUNNING, leased to a dead worker, possibly with a step whose side');
  say('      effect ran but whose output was never committed.');
  await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
  say();

  say(`[4/5] Starting worker #2. It takes over the data dir (the dead process's lock is stale), waits for worker #1's`);
  say('      leases to expire, claims those executions, replays what was committed and runs the rest:');
  const second = await spawnWorker('#2');
  const secondPid = second.pid!;
  client = await connectThrough(second);
  try {
    await watchEffects(firstPid, seen, async () => {
      const { executions } = await client.admin.listExecutions({ workflow: workflow.name, limit: 1_000 });
      return executions.length === EXECUTIONS && executions.every((e) => e.status === 'COMPLETED' || e.status === 'FAILED');
    });
    const executions: DemoExecution[] = [];
    for (const id of ids) {
      const execution = await client.admin.readExecution(id);
      if (!execution) throw new DemoError(`execution ${id} is missing`);
      const { records: journal } = await client.admin.readJournal(id);
      executions.push({ order: orderOf.get(id)!, execution, journal });
    }
    say();
    say('[5/5] Results: for every execution and step, how many times its side effect ran, and under which attempt');
    say('      (the attempt number Aries handed the step) on which worker.');
    say();
    const verdict = judgeDemo({ executions, effects: readEffects(EFFECTS_LOG), killedAt, firstPid, secondPid });
    say(verdict.table);
    say(verdict.summary);
    if (!verdict.ok) process.exitCode = 1;
  } finally {
    await client.close();
    second.kill('SIGTERM');
    await Promise.race([new Promise((r) => second.once('exit', r)), sleep(10_000)]);
  }
}

process.once('SIGINT', () => {
  killChildren();
  process.exit(130);
});
setTimeout(() => {
  say(`SUMMARY: FAILED: the demo did not finish within ${DEMO_TIMEOUT_MS / 1000} s`);
  killChildren();
  process.exit(1);
}, DEMO_TIMEOUT_MS).unref();

main()
  .catch((err: unknown) => {
    say(`SUMMARY: FAILED: ${err instanceof DemoError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(killChildren);
