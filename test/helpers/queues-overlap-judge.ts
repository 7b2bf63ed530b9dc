/**
 * What the queue fault test requires of the overlap log (queue_overlap_log, test/fixtures/
 * queues-fault-workflow.ts) and the executions, once every worker process is gone:
 *   - the log whole: each step attempt's begin has its end, written by the same process under the same
 *     lease owner, except in a SIGKILLed process, whose open intervals end at its kill time (read on the
 *     database clock after it exited: nothing it ran is later);
 *   - intervals are half-open [begin, end): at one instant an end counts before a begin;
 *   - at no instant more step attempts of a queue running than its concurrency, of a (queue, key) than
 *     its keyConcurrency, of a (queue, worker) than its workerConcurrency;
 *   - no half-open window [t, t + periodMs) holds more first starts (executions.started_at, database
 *     clock) of a queue than its rate limit (aries.admit_from_queue counts (now - period, now]);
 *   - every job COMPLETED exactly once (one execution_completed in its journal), with its own output,
 *     every step completed, no lease held; nothing lost, nothing extra.
 * It returns the maxima observed, so a reader (and the test) sees the limits were reached.
 */
import { expect } from 'vitest';
import type { Engine } from '../../src/index.js';
import { workflowName, type JobInput, type QueueSpec } from '../fixtures/queues-fault-workflow.js';
import type { KillRecord } from './queues-worker-processes.js';

interface LogRow {
  execution_id: string;
  queue: string;
  queue_key: string;
  step_key: string;
  attempt: number;
  edge: 'begin' | 'end';
  worker: string | null;
  pid: number;
  us: string;
}

interface Interval {
  execution: string;
  queue: string;
  key: string;
  worker: string;
  pid: number;
  step: string;
  from: number;
  to: number;
  cutByKill: boolean;
}

export interface QueueMaxima {
  /** Most step attempts of the queue at once; of one key; of one worker; first starts in one window. */
  queue: number;
  key: number;
  worker: number;
  rateWindow: number;
  intervals: number;
  cutByKill: number;
}

/** Pairs begins with ends; a begin left open by a killed process ends at that process's kill. */
function intervalsOf(rows: LogRow[], kills: KillRecord[], problems: string[]): Interval[] {
  const killAt = new Map(kills.map((k) => [k.pid, k.atUs]));
  const open = new Map<string, LogRow>();
  const out: Interval[] = [];
  const interval = (b: LogRow, to: number, cutByKill: boolean): Interval => ({
    execution: b.execution_id,
    queue: b.queue,
    key: b.queue_key,
    worker: b.worker ?? '(no lease owner)',
    pid: b.pid,
    step: b.step_key,
    from: Number(b.us),
    to,
    cutByKill,
  });
  for (const r of rows) {
    const id = `${r.execution_id}/${r.step_key}/${r.attempt}/${r.pid}`;
    if (r.edge === 'begin') {
      if (open.has(id)) problems.push(`${id}: begun twice`);
      if (r.worker === null) problems.push(`${id}: begun while no worker held the lease`);
      open.set(id, r);
      continue;
    }
    const b = open.get(id);
    open.delete(id);
    if (!b) {
      problems.push(`${id}: an end without a begin`);
      continue;
    }
    if (b.worker !== r.worker) problems.push(`${id}: the lease changed hands during the step (${b.worker} → ${r.worker})`);
    out.push(interval(b, Number(r.us), false));
  }
  for (const [id, b] of open) {
    const at = killAt.get(b.pid);
    if (at === undefined) problems.push(`${id}: never ended, and process ${b.pid} was not killed`);
    else out.push(interval(b, Math.max(at, Number(b.us)), true));
  }
  return out;
}

/** The most intervals of one group open at once (ends before begins at equal instants), and where. */
function maxOverlap(intervals: Interval[], group: (i: Interval) => string): { max: number; at: number; group: string } {
  const edges = intervals.flatMap((i) => [
    { t: i.from, d: 1, g: group(i) },
    { t: i.to, d: -1, g: group(i) },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  const now = new Map<string, number>();
  let best = { max: 0, at: 0, group: '' };
  for (const e of edges) {
    const n = (now.get(e.g) ?? 0) + e.d;
    now.set(e.g, n);
    if (n > best.max) best = { max: n, at: e.t, group: e.g };
  }
  return best;
}

/** The most first starts in one window [t, t + period), t each start. */
function maxInWindow(startsUs: number[], periodUs: number): number {
  const s = [...startsUs].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    while (j < s.length && s[j]! < s[i]! + periodUs) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

const describeAt = (intervals: Interval[], group: (i: Interval) => string, g: string, at: number) =>
  intervals
    .filter((i) => group(i) === g && i.from <= at && at < i.to)
    .map((i) => `${i.execution} ${i.step} key ${i.key} worker ${i.worker} pid ${i.pid} [${i.from}, ${i.to})${i.cutByKill ? ' cut by kill' : ''}`)
    .join('\n  ');

/** Every check of the header; `jobs` are the inputs started, by execution id. */
export async function judgeQueueRun(
  engine: Engine,
  specs: readonly QueueSpec[],
  jobs: Map<string, JobInput>,
  kills: KillRecord[],
  context: string,
): Promise<Map<string, QueueMaxima>> {
  const db = engine.db;
  const executions = await db.query<{ id: string; workflow_name: string; queue_name: string | null; status: string; output: { n: number } | null; lease_owner: string | null; started_us: string | null }>(
    `SELECT id, workflow_name, queue_name, status, output, lease_owner,
            (extract(epoch FROM started_at) * 1000000)::bigint::text AS started_us FROM aries.executions`,
  );
  const completions = await db.query<{ execution_id: string; n: number | string }>(
    `SELECT execution_id, count(*) AS n FROM aries.journal WHERE kind = 'execution_completed' GROUP BY execution_id`,
  );
  const steps = await db.query<{ execution_id: string; done: number | string; all: number | string }>(
    `SELECT execution_id, count(*) FILTER (WHERE status = 'COMPLETED' AND kind = 'step') AS done, count(*) FILTER (WHERE kind = 'step') AS all
       FROM aries.steps GROUP BY execution_id`,
  );
  const rows = await db.query<LogRow>(
    `SELECT execution_id, queue, queue_key, step_key, attempt, edge, worker, pid, (extract(epoch FROM at) * 1000000)::bigint::text AS us
       FROM queue_overlap_log ORDER BY id`,
  );

  // Every job COMPLETED exactly once, with its own output; nothing lost, nothing extra.
  const problems: string[] = [];
  const completed = new Map(completions.map((c) => [c.execution_id, Number(c.n)]));
  const stepsOf = new Map(steps.map((s) => [s.execution_id, { done: Number(s.done), all: Number(s.all) }]));
  expect(executions.length, `one execution per job started\n${context}`).toBe(jobs.size);
  for (const e of executions) {
    const job = jobs.get(e.id);
    if (!job) {
      problems.push(`${e.id}: an execution no job started`);
      continue;
    }
    if (e.status !== 'COMPLETED' || e.output?.n !== job.n) problems.push(`${e.id} (job ${job.n}): ${e.status}, output ${JSON.stringify(e.output)}`);
    if (e.workflow_name !== workflowName(job.queue) || e.queue_name !== job.queue) problems.push(`${e.id}: ${e.workflow_name} in queue ${e.queue_name}`);
    if (completed.get(e.id) !== 1) problems.push(`${e.id}: ${completed.get(e.id) ?? 0} execution_completed records`);
    const s = stepsOf.get(e.id);
    if (s?.done !== job.stepMs.length || s.all !== job.stepMs.length) problems.push(`${e.id}: steps ${JSON.stringify(s)} of ${job.stepMs.length}`);
    if (e.lease_owner !== null) problems.push(`${e.id}: lease still held by ${e.lease_owner}`);
  }
  expect(problems, `every job COMPLETED exactly once\n${context}`).toEqual([]);

  // The log: whole, and the intervals within every limit.
  const intervals = intervalsOf(rows, kills, problems);
  expect(problems, `the overlap log whole\n${context}`).toEqual([]);
  const ran = new Set(intervals.map((i) => `${i.execution}/${i.step}`));
  const neverRan = [...jobs].flatMap(([id, job]) => job.stepMs.map((_, i) => `${id}/s${i}`)).filter((s) => !ran.has(s));
  expect(neverRan, `every step logged\n${context}`).toEqual([]);

  const maxima = new Map<string, QueueMaxima>();
  for (const spec of specs) {
    const mine = intervals.filter((i) => i.queue === spec.name);
    const byQueue = maxOverlap(mine, () => spec.name);
    const byKey = maxOverlap(mine, (i) => i.key);
    const byWorker = maxOverlap(mine, (i) => i.worker);
    const limits = spec.limits;
    const over = (what: string, found: { max: number; at: number; group: string }, limit: number | undefined, group: (i: Interval) => string) => {
      if (limit !== undefined && found.max > limit) {
        problems.push(`${spec.name}: ${found.max} at once per ${what} ${found.group} (limit ${limit}) at ${found.at}:\n  ${describeAt(mine, group, found.group, found.at)}`);
      }
    };
    over('queue', byQueue, limits.concurrency, () => spec.name);
    over('key', byKey, limits.keyConcurrency, (i) => i.key);
    over('worker', byWorker, limits.workerConcurrency, (i) => i.worker);
    const starts = executions.filter((e) => e.queue_name === spec.name && e.started_us !== null).map((e) => Number(e.started_us));
    const rateWindow = limits.rateLimit ? maxInWindow(starts, limits.rateLimit.periodMs * 1000) : 0;
    if (limits.rateLimit && rateWindow > limits.rateLimit.limit) {
      problems.push(`${spec.name}: ${rateWindow} first starts in one ${limits.rateLimit.periodMs} ms window (limit ${limits.rateLimit.limit})`);
    }
    maxima.set(spec.name, {
      queue: byQueue.max,
      key: byKey.max,
      worker: byWorker.max,
      rateWindow,
      intervals: mine.length,
      cutByKill: mine.filter((i) => i.cutByKill).length,
    });
  }
  expect(problems, `every limit held at every instant\n${context}`).toEqual([]);
  return maxima;
}
