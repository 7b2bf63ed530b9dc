/**
 * Theorem 1 of the source model as a property: valid(R(f, s)) ∧ canContinue(R(f, s)). For a generated
 * workflow (generated-workflow.ts) with failures of every type, worker crashes at step boundaries and
 * groups of steps run in parallel (completing out of call order, so every replay matches steps by key),
 * recovery ends in a valid state, and a FAILED execution continues, once its cause is fixed (or, after
 * TRANSIENT retries ran out, as it is) and it is recovered, to completion (or to a clean compensation).
 * The expected course of every case comes from the model in theorem-1-model.ts; the effects the steps and
 * compensations apply are kept in a ledger.
 *
 * Replaying a failure: fast-check prints the seed and path of the counterexample (and every run prints its
 * seed per backend). Run
 *   ARIES_PROPERTY_SEED=<seed> ARIES_PROPERTY_PATH=<path> npx vitest run test/property/theorem-1.test.ts -t pglite
 * (or -t postgres: the backend that failed) to run exactly that case; without ARIES_PROPERTY_PATH, the same
 * sequence of cases runs and a failure is shrunk again.
 * ARIES_PROPERTY_RUNS overrides the number of cases (default 40 on PGlite, 10 on the server);
 * ARIES_PROPERTY_VERBOSE=1 prints every case and the phases the model expects of it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine, type ExecutionStatus, type JournalRecord } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';
import { CaseRuntime, caseArb, describeCase, stepKey, type CaseSpec } from './generated-workflow.js';
import { firstOutcome, simulate, type ModelFailure, type ModelResult } from './theorem-1-model.js';

const SETTLED = new Set<ExecutionStatus>(['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED']);
const PHASE_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function propertyParameters(backend: string, defaultRuns: number): fc.Parameters<[CaseSpec]> {
  const given = process.env.ARIES_PROPERTY_SEED;
  const path = process.env.ARIES_PROPERTY_PATH;
  const runs = process.env.ARIES_PROPERTY_RUNS;
  // Chosen here rather than by fast-check, so that it is printed even if the run never reaches fast-check's report.
  const seed = given ? Number(given) : (Date.now() ^ Math.floor(Math.random() * 0x100000000)) | 0;
  const numRuns = runs ? Number(runs) : defaultRuns;
  console.log(`Theorem 1 [${backend}]: ${numRuns} cases, seed ${seed} (ARIES_PROPERTY_SEED=${seed} replays them)`);
  return { numRuns, seed, ...(given && path ? { path, endOnFailure: true } : {}) };
}

/** Runs one case on `engine`: start, rest, fix and recover as often as the model says, then check it all. */
async function checkCase(engine: Engine, name: string, spec: CaseSpec): Promise<void> {
  const model = simulate(spec);
  const rt = new CaseRuntime(spec, name, engine.db);
  const where = () => `case ${name}: ${describeCase(spec)}`;
  expect(model.phases[0]!.status, `${where()}: the model disagrees with the source model's rule`).toBe(firstOutcome(spec));
  if (process.env.ARIES_PROPERTY_VERBOSE) {
    console.log(`${where()}\n  expects ${model.phases.map((p) => p.status + (p.failure ? `(${p.failure.type} ${p.failure.stepKey})` : '')).join(' → ')}`);
  }

  const handle = await engine.start(rt.workflow, null);
  const id = handle.id;

  /** Runs workers until the execution rests; a crash kills the worker, expires its lease and starts another. */
  async function rest(): Promise<ExecutionStatus> {
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    const dead: string[] = [];
    // A heartbeat of a dead worker already in flight when it stopped could renew the lease after it was
    // expired by hand: a lease a dead worker still holds is expired again (it must not wait 15 s).
    const expireDead = () =>
      engine.db.query(
        `UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1 AND lease_owner = ANY ($2::text[]) AND lease_expires_at > now()`,
        [id, dead],
      );
    for (;;) {
      let crashed = false;
      void rt.nextCrash().then(() => (crashed = true));
      const worker = engine.worker({ workflows: [rt.workflow], concurrency: 1, pollIntervalMs: 20, shutdownTimeoutMs: 10, schedulerIntervalMs: 0 });
      await worker.start();
      try {
        for (;;) {
          if (crashed) break;
          const { status } = await handle.status();
          if (SETTLED.has(status)) return status;
          if (Date.now() > deadline) {
            const kinds = (await engine.admin.readJournal(id)).records.map((r) => `${r.kind}${r.stepKey ? `:${r.stepKey}#${r.attempt}` : ''}`);
            throw new Error(`${where()}: still ${status} after ${PHASE_TIMEOUT_MS} ms; journal: ${kinds.join(' ')}`);
          }
          if (dead.length) await expireDead();
          await sleep(10);
        }
      } finally {
        await worker.stop(); // after a crash: gives up at once, leaving the execution under its lease
      }
      dead.push(worker.id);
      await expireDead();
    }
  }

  for (const [p, phase] of model.phases.entries()) {
    const status = await rest();
    const at = `${where()}: phase ${p + 1} of ${model.phases.length}`;
    expect(status, `${at}: status`).toBe(phase.status);
    const unrecovered = await engine.db.query<{ failure_type: string; recovery_strategy: string; step_key: string | null; retries_exhausted: boolean }>(
      'SELECT failure_type, recovery_strategy, step_key, retries_exhausted FROM aries.failures WHERE execution_id = $1 AND NOT recovered',
      [id],
    );
    const seen: ModelFailure[] = unrecovered
      .map((f) => ({ type: f.failure_type, strategy: f.recovery_strategy, stepKey: f.step_key ?? '', retriesExhausted: f.retries_exhausted }) as ModelFailure)
      .sort((a, b) => (a.stepKey + a.type).localeCompare(b.stepKey + b.type));
    expect(seen, `${at}: unrecovered failures`).toEqual(phase.unrecovered);
    const steps = byStep(spec, (await engine.admin.getExecution(id))!.steps.map((s) => [s.key, s.status, s.compensationStatus]));
    expect(steps, `${at}: step rows`).toEqual(phase.steps);
    if (phase.status !== 'FAILED') break;
    // canContinue: fix the cause (a PERMANENT one; exhausted TRANSIENT retries get a fresh budget instead),
    // recover, and the next phase must follow.
    if (phase.fix?.kind === 'step') rt.state.fixedSteps.add(phase.fix.step);
    if (phase.fix?.kind === 'compensation') rt.state.fixedCompensations.add(phase.fix.step);
    await engine.admin.recover(id);
  }

  await checkFinal(engine, id, rt, model, where());
}

/**
 * Rows (or keys) in step order. A parallel group's steps take their positions in the order they happened
 * to be called, so where a case has groups, rows and the keys a rollback lists are compared in step order.
 */
function byStep<T extends string | unknown[]>(spec: CaseSpec, rows: T[]): T[] {
  if (spec.groups.length === 0) return rows;
  const index = (r: T) => Number(String(typeof r === 'string' ? r : r[0]).slice(1));
  return [...rows].sort((a, b) => index(a) - index(b));
}

/** valid(R(f, s)) for the execution at rest: its effects, compensations, journal, steps and failures. */
async function checkFinal(engine: Engine, id: string, rt: CaseRuntime, model: ModelResult, where: string): Promise<void> {
  const n = rt.spec.steps.length;
  const detail = (await engine.admin.getExecution(id))!;
  const journal = (await engine.admin.readJournal(id)).records;
  const final = model.phases.at(-1)!.status;

  // Every effect is keyed by its own step's idempotency key: one distinct key per step. How often it was
  // applied, and under which attempts, is what the model says: once, plus a re-run (same key, a higher
  // attempt) for a crash after the effect and for a rollback past the completed step.
  const effects = rt.ledger.filter((e) => e.kind === 'effect');
  const compensations = rt.ledger.filter((e) => e.kind === 'compensation');
  for (let i = 0; i < n; i++) {
    const mine = effects.filter((e) => e.step === i);
    expect(new Set(mine.map((e) => e.idempotencyKey)).size, `${where}: distinct idempotency keys of ${stepKey(i)}`).toBe(mine.length ? 1 : 0);
    if (mine.length) expect(mine[0]!.idempotencyKey).toBe(`${id}:${stepKey(i)}`);
    const undone = compensations.filter((e) => e.step === i);
    if (undone.length) {
      expect(new Set(undone.map((e) => e.idempotencyKey))).toEqual(new Set([`${id}:${stepKey(i)}:compensation`]));
      for (const u of undone) expect(u.output, `${where}: the compensation of ${stepKey(i)} got the step's output`).toEqual({ step: i });
    }
  }
  // How many times, and under which attempt numbers (a re-run has a higher attempt, the same key).
  const attempts = (kind: 'effect' | 'compensation') =>
    Array.from({ length: n }, (_, i) => rt.ledger.filter((e) => e.kind === kind && e.step === i).map((e) => e.attempt));
  expect(attempts('effect'), `${where}: effects applied per step (their attempts)`).toEqual(model.effects);
  expect(attempts('compensation'), `${where}: compensations applied per step (their attempts)`).toEqual(model.compensations);
  const firstCompensations = [...new Set(compensations.map((e) => e.step))];
  expect(firstCompensations, `${where}: compensation order`).toEqual(model.compensationOrder);
  expect(rt.crashes, `${where}: crashes fired`).toBe(model.crashes);

  // The documented bound on its own: once per step, plus one for a crash after its effect (before its
  // commit), plus one per rollback that voided it after it completed.
  const rollbackRecords = journal
    .filter((r) => r.kind === 'execution_rolled_back')
    .map((r) => byStep(rt.spec, (r.payload as { rolled_back: string[] }).rolled_back));
  for (let i = 0; i < n; i++) {
    const crashedAfterEffect = rt.state.fired.has(`after-effect:${i}`) ? 1 : 0;
    const voidedCompleted = rollbackRecords.filter((keys) => keys.includes(stepKey(i)) && keys.at(-1) !== stepKey(i)).length;
    expect(effects.filter((e) => e.step === i).length, `${where}: ${stepKey(i)} applied at most 1 + crash + rollbacks`).toBeLessThanOrEqual(
      1 + crashedAfterEffect + voidedCompleted,
    );
  }

  // The journal: every record verifies; rollbacks voided what the model says; compensations completed once each, in order.
  expect(journal.every((r) => r.checksumOk), `${where}: journal checksums`).toBe(true);
  expect(rollbackRecords, `${where}: rollbacks`).toEqual(model.rollbacks);
  const completedCompensations = journal.filter((r: JournalRecord) => r.kind === 'compensation_completed').map((r) => r.stepKey);
  expect(completedCompensations, `${where}: compensation_completed records`).toEqual(model.compensationOrder.map(stepKey));
  const nodeFaults = await engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.failures WHERE execution_id = $1 AND source = 'node'`, [id]);
  expect(nodeFaults[0]!.n, `${where}: node faults recorded (one per dead worker)`).toBe(model.crashes);

  const steps = byStep(rt.spec, detail.steps.map((s) => [s.key, s.status, s.compensationStatus]));
  if (final === 'COMPLETED') {
    expect(detail.execution.output, `${where}: output`).toEqual(Array.from({ length: n }, (_, i) => ({ step: i })));
    expect(steps, `${where}: steps`).toEqual(Array.from({ length: n }, (_, i) => [stepKey(i), 'COMPLETED', null]));
    expect(compensations, `${where}: no compensation ran`).toEqual([]);
  } else {
    expect(final).toBe('COMPENSATED');
    const cause = model.compensationCause!;
    // No step after the failing one ran; the completed compensable steps before it were all compensated.
    expect(effects.filter((e) => e.step > cause), `${where}: steps after the failing one`).toEqual([]);
    const compensable = Array.from({ length: cause }, (_, i) => i).filter((i) => rt.spec.steps[i]!.compensable);
    expect(model.compensationOrder, `${where}: model compensates every completed compensable step in reverse`).toEqual([...compensable].reverse());
    expect(steps.filter((s) => s[2] !== null), `${where}: compensated steps`).toEqual(
      compensable.map((i) => [stepKey(i), 'COMPLETED', 'COMPLETED']),
    );
    expect(steps.some((s) => Number(String(s[0]).slice(1)) > cause), `${where}: step rows after the failing one`).toBe(false);
  }
}

function describeProperty(backend: 'pglite' | 'postgres', defaultRuns: number) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`Theorem 1: valid(R(f, s)) ∧ canContinue(R(f, s)) [${backend}]`, () => {
    let engine: Engine | undefined;
    let drop: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      if (backend === 'pglite') {
        engine = await createEngine({ inMemory: true, onError: () => {} });
      } else {
        const db = await createTestDatabase('theorem1');
        drop = db.drop;
        engine = await createEngine({ databaseUrl: db.url, onError: () => {} });
      }
    });
    afterAll(async () => {
      await engine?.close();
      await drop?.();
    });

    test('every generated run with failures and crashes at step boundaries ends valid, and a failed one continues', async () => {
      let counter = 0;
      await fc.assert(
        fc.asyncProperty(caseArb, async (spec) => {
          await checkCase(engine!, `theorem1-${backend}-${++counter}`, spec);
        }),
        propertyParameters(backend, defaultRuns),
      );
    }, 600_000);
  });
}

describeProperty('pglite', 40);
describeProperty('postgres', 10);
