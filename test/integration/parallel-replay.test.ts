import { expect, test } from 'vitest';
import { createEngine, defineWorkflow, type Engine, type StepContext, type Workflow, type WorkflowContext } from '../../src/index.js';
import { describeBackends, type TestBackend } from '../helpers/backends.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { waitForStepCompleted } from '../helpers/sql.js';

/**
 * Replay matches a recorded step by its key, never by the order calls happened to resolve in: parallel
 * branches (Promise.all, per-branch chains) complete in any order on the first run, and a replay after a
 * TRANSIENT failure or a dead worker must hand every step its own recorded outcome. A workflow whose code
 * changed under a running execution is still caught (NondeterminismError): a new step entered while
 * recorded ones can no longer be reached, a recorded step never reached by the time the workflow returns,
 * a recorded step called as another kind.
 *
 * Side effects are counted here, outside the engine: every invocation of a step's function by step key.
 */

const RETRY = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' } as const;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const connectionReset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

interface Invocation {
  attempt: number;
  idempotencyKey: string;
}

/** Every invocation of a step function and every effect it applied, by step key. */
class Effects {
  readonly invocations = new Map<string, Invocation[]>();
  readonly applied = new Map<string, number>();

  /** A step function: waits `delayMs`, throws `fail()` on the attempts listed, else applies its effect once and returns `value`. */
  fn<T>(value: () => T, opts: { delayMs?: number; failOn?: number[]; fail?: () => Error } = {}): (s: StepContext) => Promise<T> {
    return async (s) => {
      const seen = this.invocations.get(s.stepKey) ?? [];
      seen.push({ attempt: s.attempt, idempotencyKey: s.idempotencyKey });
      this.invocations.set(s.stepKey, seen);
      if (opts.delayMs) await sleep(opts.delayMs);
      if (opts.failOn?.includes(s.attempt)) throw (opts.fail ?? (() => new Error(`${s.stepKey}: upstream timed out`)))();
      this.applied.set(s.stepKey, (this.applied.get(s.stepKey) ?? 0) + 1);
      return value();
    };
  }
}

async function runToEnd<I, O>(b: TestBackend, wf: Workflow<I, O>, input: I): Promise<{ id: string; output: O }> {
  const worker = b.engine.worker({ workflows: [wf], pollIntervalMs: 20 });
  await worker.start();
  try {
    const h = await b.engine.start(wf, input);
    return { id: h.id, output: await h.result({ timeoutMs: 30_000 }) };
  } finally {
    await worker.stop();
  }
}

/**
 * Each step in `keys` applied its effect exactly once and is completed exactly once in the journal; its
 * function ran under the attempts listed in `attempts` (default: only attempt 1), all with its own
 * idempotency key; no other step ran.
 */
async function expectExactlyOnce(engine: Engine, id: string, fx: Effects, keys: string[], attempts: Record<string, number[]> = {}) {
  expect([...fx.invocations.keys()].sort(), 'the steps that ran').toEqual([...keys].sort());
  for (const key of keys) {
    expect(fx.applied.get(key), `effects of ${key}`).toBe(1);
    const runs = fx.invocations.get(key) ?? [];
    expect(runs.map((r) => r.attempt), `attempts of ${key}`).toEqual(attempts[key] ?? [1]);
    expect(new Set(runs.map((r) => r.idempotencyKey)), `idempotency key of ${key}`).toEqual(new Set([`${id}:${key}`]));
  }
  const journal = (await engine.admin.readJournal(id)).records;
  expect(journal.every((r) => r.checksumOk), 'every journal checksum holds').toBe(true);
  for (const key of keys) {
    expect(journal.filter((r) => r.kind === 'step_completed' && r.stepKey === key), `completions of ${key}`).toHaveLength(1);
  }
  expect(journal.at(-1)?.kind).toBe('execution_completed');
  const steps = (await engine.admin.getExecution(id))!.steps;
  expect(steps.map((s) => [s.key, s.status]).sort(), 'step rows').toEqual(keys.map((k) => [k, 'COMPLETED']).sort());
}

describeBackends('replay matches recorded steps by key', (b) => {
  test('two chains that completed out of call order replay after a transient failure of the last step', async () => {
    const fx = new Effects();
    const wf = defineWorkflow('parallel-two-chains', { retry: RETRY }, async (ctx) => {
      const a = ctx.step('a1', fx.fn(() => 'a1', { delayMs: 80 })).then((v) => ctx.step('a2', fx.fn(() => `${v}>a2`)));
      const bb = ctx.step('b1', fx.fn(() => 'b1')).then((v) => ctx.step('b2', fx.fn(() => `${v}>b2`)));
      const [x, y] = await Promise.all([a, bb]);
      return ctx.step('last', fx.fn(() => `${x}|${y}`, { failOn: [1], fail: connectionReset }));
    });
    const { id, output } = await runToEnd(b, wf, {});
    expect(output).toBe('a1>a2|b1>b2');
    await expectExactlyOnce(b.engine, id, fx, ['a1', 'a2', 'b1', 'b2', 'last'], { last: [1, 2] });
    // The premise: b2 took its position before a2 did, so replay in call order would ask a2 for b2's.
    const seq = Object.fromEntries((await b.engine.admin.getExecution(id))!.steps.map((s) => [s.key, s.seq]));
    expect(seq.b2).toBeLessThan(seq.a2!);
  });

  test.each(testSeeds([11, 23, 37, 4242, 90001]))('fan-out of chains of different lengths, fan-in, transient last step (seed %i)', async (seed) => {
    const rng = seededRandom(seed);
    const branches = rng.int(5, 8);
    const lengths = Array.from({ length: branches }, () => rng.int(1, 4));
    // The first steps complete in a seeded random order (5 ms apart), the later ones after random delays.
    const rank = rng.shuffle(Array.from({ length: branches }, (_, i) => i));
    const delays = lengths.map((len, br) => Array.from({ length: len }, (_, j) => (j === 0 ? rank.indexOf(br) * 5 + rng.int(0, 2) : rng.int(0, 20))));
    const base = rng.int(1, 100);
    const value = (prev: number, br: number, j: number) => prev * 3 + br + j;
    const fx = new Effects();
    const wf = defineWorkflow<{ base: number }, { finals: number[]; joined: number }>(
      `parallel-fan-out-${seed}`,
      { retry: RETRY },
      async (ctx, input) => {
        const finals = await Promise.all(
          lengths.map(async (len, br) => {
            let v = input.base;
            for (let j = 0; j < len; j++) {
              const prev = v;
              v = await ctx.step(`b${br}-s${j}`, fx.fn(() => value(prev, br, j), { delayMs: delays[br]![j] }));
            }
            return v;
          }),
        );
        // Weighted by branch: an output handed to the wrong branch changes the sum.
        const joined = await ctx.step('join', fx.fn(() => finals.reduce((sum, f, i) => sum + (i + 1) * f, 0)));
        return ctx.step('last', fx.fn(() => ({ finals, joined }), { failOn: [1] }));
      },
    );

    // The expected output, computed without the engine.
    const finals = lengths.map((len, br) => {
      let v = base;
      for (let j = 0; j < len; j++) v = value(v, br, j);
      return v;
    });
    const expected = { finals, joined: finals.reduce((sum, f, i) => sum + (i + 1) * f, 0) };

    const { id, output } = await runToEnd(b, wf, { base });
    expect(output, `seed ${seed}: lengths ${lengths.join(',')}, delays ${JSON.stringify(delays)}`).toEqual(expected);
    const keys = lengths.flatMap((len, br) => Array.from({ length: len }, (_, j) => `b${br}-s${j}`));
    await expectExactlyOnce(b.engine, id, fx, [...keys, 'join', 'last'], { last: [1, 2] });
  });

  test.each(testSeeds([5, 77, 31337]))('fan-out over an array, then a chain per item (seed %i)', async (seed) => {
    const rng = seededRandom(seed);
    const items = Array.from({ length: rng.int(6, 10) }, () => rng.int(1, 50));
    const delay = () => rng.int(0, 25);
    const itemDelays = items.map(delay);
    const fetchDelays = items.map(delay);
    const saveDelays = items.map(delay);
    const fx = new Effects();
    const wf = defineWorkflow<{ items: number[] }, { saved: string[]; total: number }>(`parallel-array-${seed}`, { retry: RETRY }, async (ctx, input) => {
      const doubled = await Promise.all(input.items.map((x, i) => ctx.step(`item-${i}`, fx.fn(() => x * 2, { delayMs: itemDelays[i] }))));
      const saved = await Promise.all(
        doubled.map((d, i) =>
          ctx
            .step(`fetch-${i}`, fx.fn(() => d + i, { delayMs: fetchDelays[i] }))
            .then((f) => ctx.step(`save-${i}`, fx.fn(() => `${i}:${f}`, { delayMs: saveDelays[i] }))),
        ),
      );
      return ctx.step('total', fx.fn(() => ({ saved, total: doubled.reduce((s, d) => s + d, 0) }), { failOn: [1], fail: connectionReset }));
    });
    const expected = { saved: items.map((x, i) => `${i}:${x * 2 + i}`), total: items.reduce((s, x) => s + 2 * x, 0) };
    const { id, output } = await runToEnd(b, wf, { items });
    expect(output, `seed ${seed}`).toEqual(expected);
    const keys = items.flatMap((_, i) => [`item-${i}`, `fetch-${i}`, `save-${i}`]);
    await expectExactlyOnce(b.engine, id, fx, [...keys, 'total'], { total: [1, 2] });
  });

  test("a branch's step still running when another branch's step fails transiently completes once", async () => {
    const fx = new Effects();
    const wf = defineWorkflow('parallel-sibling-running', { retry: RETRY }, async (ctx) => {
      const a = ctx.step('a1', fx.fn(() => 1, { delayMs: 250 })).then((v) => ctx.step('a2', fx.fn(() => v + 1)));
      const bb = ctx.step('b1', fx.fn(() => 10, { delayMs: 20, failOn: [1] })).then((v) => ctx.step('b2', fx.fn(() => v + 1)));
      const [x, y] = await Promise.all([a, bb]);
      return ctx.step('sum', fx.fn(() => x + y));
    });
    const { id, output } = await runToEnd(b, wf, {});
    expect(output).toBe(13);
    // a1 was mid-flight when b1's retry unwound the workflow: its completion is recorded, never re-run.
    await expectExactlyOnce(b.engine, id, fx, ['a1', 'a2', 'b1', 'b2', 'sum'], { b1: [1, 2] });
  });

  test('a new step reached before a recorded one of another branch waits for it instead of failing', async () => {
    // First run: a1, a2 and b1 complete; c1 fails TRANSIENTLY while b1 runs, so b2 is never entered. On the
    // replay B enters b2 (never journaled) before A, a few awaits behind, reaches its recorded a2.
    const fx = new Effects();
    const wf = defineWorkflow('parallel-new-step-waits', { retry: RETRY }, async (ctx) => {
      const a = ctx.step('a1', fx.fn(() => 'a1')).then(async (v) => {
        for (let i = 0; i < 5; i++) await Promise.resolve();
        return ctx.step('a2', fx.fn(() => `${v}>a2`));
      });
      const bb = ctx.step('b1', fx.fn(() => 'b1', { delayMs: 120 })).then((v) => ctx.step('b2', fx.fn(() => `${v}>b2`)));
      const c = ctx.step('c1', fx.fn(() => 'c1', { delayMs: 30, failOn: [1] }));
      return (await Promise.all([a, bb, c])).join('|');
    });
    const { id, output } = await runToEnd(b, wf, {});
    expect(output).toBe('a1>a2|b1>b2|c1');
    await expectExactlyOnce(b.engine, id, fx, ['a1', 'a2', 'b1', 'b2', 'c1'], { c1: [1, 2] });
  });
});

describeBackends('replay still detects a workflow whose code changed', (b) => {
  /**
   * Runs `wf` on a first worker until `stopAfterStep` has committed, then that worker "dies": the
   * workflow hangs there, the worker is stopped and the lease expired by hand (as in replay.test.ts).
   */
  async function runUntil(wf: Workflow<any, any>, stopAfterStep: string) {
    let reached!: () => void;
    const atStep = new Promise<void>((r) => (reached = r));
    const probe = defineWorkflow(wf.name, { version: wf.version, retry: wf.retry }, async (ctx, input) => {
      const proxy = Object.create(ctx) as WorkflowContext;
      proxy.transaction = (key, fn, opts) => ctx.transaction(key, fn, opts);
      proxy.step = async (key, fn, opts) => {
        const out = await ctx.step(key, fn, opts);
        if (key === stopAfterStep) {
          await waitForStepCompleted(b.engine.db, ctx.executionId, key); // written by the flush timer
          reached();
          await new Promise<void>(() => {}); // this worker is "dead" from here on
        }
        return out;
      };
      return wf.fn(proxy, input);
    });
    const w = b.engine.worker({ workflows: [probe], pollIntervalMs: 50, shutdownTimeoutMs: 10 });
    await w.start();
    const h = await b.engine.start(wf, {});
    // An execution that ends before the step is reached fails the test at once instead of timing out.
    const ended = h.result().then(
      (out) => new Error(`the execution completed before ${stopAfterStep}: ${JSON.stringify(out)}`),
      (e: unknown) => e,
    );
    const early = await Promise.race([atStep.then(() => undefined), ended]);
    if (early !== undefined) throw early;
    await w.stop();
    await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [h.id]);
    return h;
  }

  /**
   * Resumes the execution with `changed` registered under the same name and version: on the server from a
   * new engine on the same database (as after a deploy), on in-memory PGlite from the same engine.
   */
  async function resumeWith(changed: Workflow<any, any>, id: string): Promise<{ error: unknown; status: string }> {
    const engine = b.name === 'postgres' ? await createEngine({ ...b.connection, onError: () => {} }) : b.engine;
    const worker = engine.worker({ workflows: [changed], pollIntervalMs: 50 });
    await worker.start();
    try {
      const error = await engine.handle(id).result({ timeoutMs: 20_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      return { error, status: (await engine.handle(id).status()).status };
    } finally {
      await worker.stop();
      if (engine !== b.engine) await engine.close();
    }
  }

  const sequential = (name: string, fx: Effects, keys: string[]) =>
    defineWorkflow(name, async (ctx) => {
      const out: string[] = [];
      for (const key of keys) out.push(await ctx.step(key, fx.fn(() => key)));
      return out;
    });

  test('a replaced middle step fails with a NondeterminismError before the new step runs', async () => {
    const fx = new Effects();
    const h = await runUntil(sequential('changed-middle', fx, ['reserve', 'charge', 'ship']), 'ship');
    const fx2 = new Effects();
    const { error, status } = await resumeWith(sequential('changed-middle', fx2, ['reserve', 'charge-by-card', 'ship']), h.id);
    expect(status).toBe('FAILED');
    expect(String((error as Error)?.message)).toContain('NondeterminismError');
    expect(String((error as Error)?.message)).toMatch(/runs step "charge-by-card", which its journal never recorded.*"charge"/);
    expect([...fx2.invocations.keys()], 'no step ran on the changed code').toEqual([]);
  });

  test('a removed last step fails the execution with a NondeterminismError instead of completing it', async () => {
    const fx = new Effects();
    const h = await runUntil(sequential('changed-removed', fx, ['reserve', 'charge', 'ship']), 'ship');
    const fx2 = new Effects();
    const { error, status } = await resumeWith(sequential('changed-removed', fx2, ['reserve', 'charge']), h.id);
    expect(status).toBe('FAILED');
    expect(String((error as Error)?.message)).toContain('NondeterminismError');
    expect(String((error as Error)?.message)).toMatch(/without reaching steps its journal recorded \(.*"ship"/);
    expect([...fx2.invocations.keys()]).toEqual([]);
    const journal = (await b.engine.admin.readJournal(h.id)).records;
    expect(journal.some((r) => r.kind === 'execution_completed')).toBe(false);
  });

  test('a recorded step now called as a transaction fails with a NondeterminismError', async () => {
    const fx = new Effects();
    const h = await runUntil(sequential('changed-kind', fx, ['reserve', 'charge']), 'charge');
    let transactionRan = false;
    const changed = defineWorkflow('changed-kind', async (ctx) => {
      const r = await ctx.transaction('reserve', async () => ((transactionRan = true), 'reserve'));
      return [r, await ctx.step('charge', () => 'charge')];
    });
    const { error, status } = await resumeWith(changed, h.id);
    expect(status).toBe('FAILED');
    expect(String((error as Error)?.message)).toContain('NondeterminismError');
    expect(String((error as Error)?.message)).toMatch(/recorded step "reserve" as .*, but the workflow code now runs it as/);
    expect(transactionRan).toBe(false);
  });

  test('a recorded transaction now called as a plain step fails with a NondeterminismError', async () => {
    const v1 = defineWorkflow('changed-kind-back', async (ctx) => {
      const r = await ctx.transaction('reserve', async (tx) => (await tx.query<{ v: string }>(`SELECT 'reserve' AS v`))[0]!.v);
      return [r, await ctx.step('charge', () => 'charge')];
    });
    const h = await runUntil(v1, 'charge');
    const fx2 = new Effects();
    const { error, status } = await resumeWith(sequential('changed-kind-back', fx2, ['reserve', 'charge']), h.id);
    expect(status).toBe('FAILED');
    expect(String((error as Error)?.message)).toMatch(/NondeterminismError.*recorded step "reserve" as /);
    expect([...fx2.invocations.keys()]).toEqual([]);
  });

  test('a replaced step in one of two parallel chains fails once the other chain has nothing left to reach', async () => {
    const chains = (name: string, fx: Effects, second: string) =>
      defineWorkflow(name, async (ctx) => {
        const a = ctx.step('a1', fx.fn(() => 'a1', { delayMs: 40 })).then(() => ctx.step('a2', fx.fn(() => 'a2')));
        const bb = ctx.step('b1', fx.fn(() => 'b1')).then(() => ctx.step(second, fx.fn(() => second)));
        await Promise.all([a, bb]);
        return ctx.step('join', fx.fn(() => 'join'));
      });
    const h = await runUntil(chains('changed-parallel', new Effects(), 'b2'), 'join');
    const fx2 = new Effects();
    const { error, status } = await resumeWith(chains('changed-parallel', fx2, 'b2-by-card'), h.id);
    expect(status).toBe('FAILED');
    expect(String((error as Error)?.message)).toMatch(/NondeterminismError.*runs step "b2-by-card", which its journal never recorded/);
    expect([...fx2.invocations.keys()], 'nothing ran: every other step replayed').toEqual([]);
  });
});
