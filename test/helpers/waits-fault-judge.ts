/**
 * What the wait fault tests require of the state the orders (test/fixtures/waits-fault-workflow.ts) left,
 * once every worker is gone, however the workers died or the database restarted meanwhile:
 *   - nothing stuck: every order and every line COMPLETED, no lease held, no wait open, every step
 *     COMPLETED but the race's losing sleep (CANCELLED, its wait settled);
 *   - each wait begun once: exactly the waits the workflow has, one row each, settled;
 *   - side effects as at-least-once allows: a plain step's effect ran at least once and at most once per
 *     attempt; a transactional step's exactly once, by the attempt that completed it;
 *   - each signal consumed exactly once: an order's mailbox holds exactly go-1 and go-2 (duplicates stored
 *     nothing, journaled nothing), each consumed (consumed_by set) by its own wait, go-1 by the first and
 *     go-2 by the second (the order they were sent), and each wait's output is the payload stored with the
 *     signal it consumed;
 *   - each child started once: one line per (order, key), its id derived from them, the one the order's
 *     wait names, its output the order's;
 *   - the journal whole: every checksum holds, one step_completed per completed step.
 * describeUnfinished says what a run that did not finish left: each unfinished execution, its steps,
 * waits, signals and lease, for the failure message.
 */
import { expect } from 'vitest';
import type { Engine } from '../../src/index.js';
import {
  CHILD_KEYS,
  CHILD_STEPS,
  CHILD_WORKFLOW,
  PARENT_STEPS,
  PARENT_WORKFLOW,
  SIGNAL_NAME,
  SIGNAL_WAITS,
  signalKey,
  type GoPayload,
  type OrderInput,
  type OrderOutput,
} from '../fixtures/waits-fault-workflow.js';

interface ExecutionRow {
  id: string;
  workflow_name: string;
  status: string;
  input: unknown;
  output: unknown;
  parent_id: string | null;
  parent_step_key: string | null;
  lease_owner: string | null;
  derived_id: string | null;
}
interface StepRow {
  execution_id: string;
  step_key: string;
  kind: string;
  status: string;
  attempt: number;
}
interface WaitRow {
  execution_id: string;
  step_key: string;
  kind: string;
  resolved: boolean;
  signal_name: string | null;
  child_id: string | null;
}
interface SignalRow {
  id: number;
  execution_id: string;
  name: string;
  payload: GoPayload;
  idempotency_key: string;
  consumed_by: string | null;
  consumed: boolean;
}
interface EffectRow {
  execution_id: string;
  step_key: string;
  kind: string;
  count: number;
  last_attempt: number;
}

const byExecution = <T extends { execution_id: string }>(rows: T[]) => {
  const map = new Map<string, T[]>();
  for (const r of rows) map.set(r.execution_id, [...(map.get(r.execution_id) ?? []), r]);
  return map;
};
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** Every check of the header, on `engine`'s database, which holds only this run's executions. */
export async function judgeWaitsRun(engine: Engine, orders: number, context: string): Promise<{ resumedSteps: number }> {
  const db = engine.db;
  const executions = await db.query<ExecutionRow>(
    `SELECT id, workflow_name, status, input, output, parent_id, parent_step_key, lease_owner,
            CASE WHEN parent_id IS NOT NULL THEN aries.child_execution_id(parent_id, parent_step_key) END AS derived_id
       FROM aries.executions`,
  );
  const steps = await db.query<StepRow>('SELECT execution_id, step_key, kind, status, attempt FROM aries.steps');
  const waits = await db.query<WaitRow>(
    'SELECT execution_id, step_key, kind, resolved_at IS NOT NULL AS resolved, signal_name, child_id FROM aries.waits',
  );
  const signals = await db.query<SignalRow>(
    `SELECT id, execution_id, name, payload, idempotency_key, consumed_by, consumed_at IS NOT NULL AS consumed
       FROM aries.signals ORDER BY id`,
  );
  const effects = await db.query<EffectRow>('SELECT execution_id, step_key, kind, count, last_attempt FROM wait_effects');
  const journalCounts = await db.query<{ execution_id: string; kind: string; step_key: string | null; n: number | string }>(
    `SELECT execution_id, kind, step_key, count(*) AS n FROM aries.journal
      WHERE kind IN ('step_completed', 'signal_received') GROUP BY execution_id, kind, step_key`,
  );
  const [checksums] = await db.query<{ bad: number | string; records: number | string }>(
    `SELECT count(*) FILTER (WHERE NOT j.checksum_ok) AS bad, count(*) AS records
       FROM aries.executions e CROSS JOIN LATERAL aries.read_journal(p_execution_id => e.id) j`,
  );

  const parents = executions.filter((e) => e.workflow_name === PARENT_WORKFLOW);
  const lines = executions.filter((e) => e.workflow_name === CHILD_WORKFLOW);
  const stepsOf = byExecution(steps);
  const waitsOf = byExecution(waits);
  const signalsOf = byExecution(signals);
  const effectsOf = byExecution(effects);

  // Nothing stuck.
  expect(parents.length, `orders\n${context}`).toBe(orders);
  expect(lines.length, `lines: ${CHILD_KEYS.length} per order\n${context}`).toBe(orders * CHILD_KEYS.length);
  expect(executions.length, 'nothing but orders and their lines').toBe(parents.length + lines.length);
  const notCompleted = executions.filter((e) => e.status !== 'COMPLETED').map((e) => `${e.workflow_name} ${e.id} ${e.status}`);
  expect(notCompleted, `every execution COMPLETED\n${context}`).toEqual([]);
  expect(executions.filter((e) => e.lease_owner !== null).map((e) => e.id), 'no lease held').toEqual([]);
  expect(waits.filter((w) => !w.resolved).map((w) => `${w.execution_id} ${w.step_key}`), `no wait open\n${context}`).toEqual([]);

  // Each step and wait once, as the workflow has them.
  const problems: string[] = [];
  const expectSteps = (e: ExecutionRow, spec: Record<string, readonly string[]>) => {
    const mine = stepsOf.get(e.id) ?? [];
    const want = Object.entries(spec).flatMap(([kind, keys]) =>
      keys.map((k) => `${k} ${kind === 'cancelledSleep' ? 'sleep CANCELLED' : `${kind} COMPLETED`}`),
    );
    const got = mine.map((s) => `${s.step_key} ${s.kind} ${s.status}`);
    if (sorted(got).join() !== sorted(want).join()) problems.push(`${e.workflow_name} ${e.id}: steps ${sorted(got).join(', ')}`);
    const waitKinds = [...(spec.sleep ?? []), ...(spec.cancelledSleep ?? [])].map((k) => `${k} sleep`)
      .concat((spec.signal ?? []).map((k) => `${k} signal`), (spec.child ?? []).map((k) => `${k} child`));
    const gotWaits = (waitsOf.get(e.id) ?? []).map((w) => `${w.step_key} ${w.kind}`);
    if (sorted(gotWaits).join() !== sorted(waitKinds).join()) problems.push(`${e.workflow_name} ${e.id}: waits ${sorted(gotWaits).join(', ')}`);
  };
  for (const p of parents) expectSteps(p, PARENT_STEPS);
  for (const l of lines) expectSteps(l, CHILD_STEPS);
  expect(problems, `each step and wait once, as the workflow has them\n${context}`).toEqual([]);

  // Side effects: plain steps at least once and at most once per attempt; transactional steps once.
  const stepRow = (id: string, key: string) => (stepsOf.get(id) ?? []).find((s) => s.step_key === key);
  let resumedSteps = 0;
  const effectProblems: string[] = [];
  for (const e of executions) {
    const spec = e.workflow_name === PARENT_WORKFLOW ? PARENT_STEPS : CHILD_STEPS;
    const mine = new Map((effectsOf.get(e.id) ?? []).map((r) => [r.step_key, r]));
    const expected: string[] = [...spec.step, ...spec.transaction];
    const extra = [...mine.keys()].filter((k) => !expected.includes(k));
    if (extra.length > 0) effectProblems.push(`${e.id}: effects of unknown steps ${extra.join(', ')}`);
    for (const key of expected) {
      const effect = mine.get(key);
      const step = stepRow(e.id, key);
      if (!effect || !step) {
        effectProblems.push(`${e.id} ${key}: ${effect ? '' : 'no effect'} ${step ? '' : 'no step'}`);
        continue;
      }
      if (step.attempt > 1) resumedSteps++;
      if ((spec.transaction as readonly string[]).includes(key)) {
        // Fenced and committed with the completion: once, by the attempt that completed.
        if (effect.count !== 1 || effect.last_attempt !== step.attempt) {
          effectProblems.push(`${e.id} ${key} (transactional): effect counted ${effect.count} times, by attempt ${effect.last_attempt}; completed by ${step.attempt}`);
        }
      } else if (effect.count < 1 || effect.count > step.attempt || effect.last_attempt > step.attempt) {
        // A plain step's function runs at most once per attempt (a worker that died mid-step leaves the next
        // attempt to run it again); a lease lost to a stall could let an older attempt write last.
        effectProblems.push(`${e.id} ${key} (plain): effect counted ${effect.count} times, last by attempt ${effect.last_attempt}, in ${step.attempt} attempts`);
      }
    }
  }
  expect(effectProblems, `side effects as at-least-once allows, transactional ones exactly once\n${context}`).toEqual([]);

  // Signals: exactly go-1 and go-2 per order, each consumed once, by its own wait, in the order sent.
  const signalProblems: string[] = [];
  for (const p of parents) {
    const box = signalsOf.get(p.id) ?? [];
    const keys = box.map((s) => s.idempotency_key);
    if (keys.join() !== [signalKey(1), signalKey(2)].join() || box.some((s) => s.name !== SIGNAL_NAME)) {
      signalProblems.push(`${p.id}: mailbox holds ${box.map((s) => `${s.name}/${s.idempotency_key}`).join(', ')} (in order of sending)`);
      continue;
    }
    box.forEach((s, i) => {
      if (!s.consumed || s.consumed_by !== SIGNAL_WAITS[i]) signalProblems.push(`${p.id}: ${s.idempotency_key} consumed by ${s.consumed_by ?? 'nobody'}`);
    });
    const output = p.output as OrderOutput;
    const input = p.input as OrderInput;
    if (JSON.stringify(output.first) !== JSON.stringify(box[0]!.payload) || JSON.stringify(output.second) !== JSON.stringify(box[1]!.payload)) {
      signalProblems.push(`${p.id}: waits got ${JSON.stringify([output.first, output.second])}, mailbox has ${JSON.stringify(box.map((s) => s.payload))}`);
    }
    if (output.n !== input.n) signalProblems.push(`${p.id}: output of order ${output.n}, input ${input.n}`);
  }
  const stray = signals.filter((s) => !parents.some((p) => p.id === s.execution_id)).map((s) => `${s.execution_id} ${s.idempotency_key}`);
  if (stray.length > 0) signalProblems.push(`signals to executions that are not orders: ${stray.join(', ')}`);
  expect(signalProblems, `each signal consumed exactly once, by its wait, in the order sent\n${context}`).toEqual([]);

  // Children: one per (order, key), its id derived from them, the one its wait names, its output the order's.
  const childProblems: string[] = [];
  for (const p of parents) {
    const mine = lines.filter((l) => l.parent_id === p.id);
    const keys = mine.map((l) => l.parent_step_key ?? '');
    if (sorted(keys).join() !== sorted(CHILD_KEYS).join()) childProblems.push(`${p.id}: lines under keys ${sorted(keys).join(', ')}`);
    for (const l of mine) {
      if (l.id !== l.derived_id) childProblems.push(`${l.id}: not the id derived from (${p.id}, ${l.parent_step_key})`);
      const wait = (waitsOf.get(p.id) ?? []).find((w) => w.step_key === l.parent_step_key);
      if (wait?.child_id !== l.id) childProblems.push(`${p.id} ${l.parent_step_key}: the wait names ${wait?.child_id ?? 'no child'}, not ${l.id}`);
    }
    const output = p.output as OrderOutput;
    const fromLines = CHILD_KEYS.map((k) => mine.find((l) => l.parent_step_key === k)?.output);
    if (JSON.stringify(output.lines) !== JSON.stringify(fromLines)) childProblems.push(`${p.id}: lines ${JSON.stringify(output.lines)} vs ${JSON.stringify(fromLines)}`);
  }
  expect(childProblems, `each child started once\n${context}`).toEqual([]);

  // The journal: whole, one completion per completed step, one signal_received per stored signal.
  expect(Number(checksums!.bad), 'every journal checksum holds').toBe(0);
  const twice = journalCounts.filter((j) => j.kind === 'step_completed' && Number(j.n) !== 1).map((j) => `${j.execution_id} ${j.step_key} ×${j.n}`);
  expect(twice, 'one step_completed per completed step').toEqual([]);
  const received = journalCounts.filter((j) => j.kind === 'signal_received').reduce((n, j) => n + Number(j.n), 0);
  expect(received, 'one signal_received per stored signal (duplicates journal nothing)').toBe(signals.length);
  const completedSteps = steps.filter((s) => s.status === 'COMPLETED').length;
  const completions = journalCounts.filter((j) => j.kind === 'step_completed').length;
  expect(completions, 'every completed step journaled').toBe(completedSteps);
  return { resumedSteps };
}

/** The executions not finished, with their open steps and waits and their lease: what a stuck run shows. */
export async function describeUnfinished(engine: Engine): Promise<string> {
  const rows = await engine.db.query<Record<string, unknown>>(
    `SELECT e.id, e.workflow_name, e.status, e.lease_owner, e.lease_expires_at::text, e.available_at::text, aries.now()::text AS now,
            (SELECT string_agg(s.step_key || ' ' || s.kind || ' ' || s.status || '/' || s.attempt, ', ' ORDER BY s.seq)
               FROM aries.steps s WHERE s.execution_id = e.id) AS steps,
            (SELECT string_agg(w.step_key || CASE WHEN w.resolved_at IS NULL THEN ' open' ELSE ' settled' END, ', ')
               FROM aries.waits w WHERE w.execution_id = e.id) AS waits,
            (SELECT string_agg(sg.idempotency_key || ' ' || coalesce(sg.consumed_by, 'unconsumed'), ', ' ORDER BY sg.id)
               FROM aries.signals sg WHERE sg.execution_id = e.id) AS signals
       FROM aries.executions e WHERE e.status NOT IN ('COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED') ORDER BY e.created_at`,
  );
  return rows.map((r) => JSON.stringify(r)).join('\n');
}
