/**
 * The network between a worker and the PostgreSQL server drops (server only: PGlite has no network).
 *
 * The worker's engine reaches the server through a TCP proxy the test controls (test/helpers/tcp-proxy.ts),
 * which cuts every connection at once, or one connection at a precise moment of one query: before the
 * query reaches the server, right after, or after the server answered (it committed, and the worker cannot
 * know). Executions are started and read through a second engine connected directly: only the worker's
 * side of the network fails, as when it runs on another machine.
 *
 * What must hold whatever the moment: the worker reconnects (its pool opens new connections through the
 * proxy), every execution completes, every step's side effect runs exactly once (the cut never falls
 * inside a step's function here, only between the function and the database), and the journal is intact,
 * with one step_completed per step, no step attempt started twice and one execution_completed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { PgDatabase } from '../../src/db/pg-database.js';
import {
  createEngine,
  defineWorkflow,
  type Engine,
  type JournalRecord,
  type Worker,
  type WorkerOptions,
  type Workflow,
} from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';
import { createTestDatabase } from '../helpers/server.js';
import { startTcpProxy, type CutMoment, type TcpProxy } from '../helpers/tcp-proxy.js';

const STEPS = ['reserve', 'charge', 'ship'];
const RESULT = ['reserve done', 'charge done', 'ship done'];
const MOMENTS: CutMoment[] = ['before-forward', 'after-forward', 'after-response'];

/** A three-step workflow that counts each step's side effect in `runs`; `during` runs inside the step. */
function threeSteps(name: string, runs: Map<string, number>, during?: (key: string) => Promise<void>): Workflow<unknown, string[]> {
  return defineWorkflow(name, async (ctx) => {
    const outputs: string[] = [];
    for (const key of STEPS) {
      outputs.push(
        await ctx.step(key, async () => {
          runs.set(key, (runs.get(key) ?? 0) + 1);
          await during?.(key);
          return `${key} done`;
        }),
      );
    }
    return outputs;
  });
}

/** Waits (polling) until `condition` holds; the bound only keeps a broken run from hanging. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isWrite = (fn: string) => (request: string) => request.includes(`aries.${fn}(`);

describe.skipIf(!serverEnabled())('network faults between a worker and the server', () => {
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let directEngine: Engine | undefined;
  beforeAll(async () => {
    database = await createTestDatabase('network_drop');
    directEngine = await createEngine({ databaseUrl: database.url, onError: () => {} });
  });
  afterAll(async () => {
    await directEngine?.close();
    await database?.drop();
  });
  const direct = (): Engine => directEngine!;

  // Each test gets its own proxy, and an engine behind it that runs its worker.
  let proxy: TcpProxy | undefined;
  let proxied: Engine | undefined;
  afterEach(async () => {
    await proxied?.close();
    await proxy?.close();
    proxied = undefined;
    proxy = undefined;
  });

  async function workerBehindProxy(workflows: Workflow[], options: Partial<WorkerOptions> = {}) {
    const target = new URL(database!.url);
    proxy = await startTcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    proxied = await createEngine({ databaseUrl: proxy.url(database!.url), onError: () => {} });
    const worker: Worker = proxied.worker({ workflows, pollIntervalMs: 50, ...options });
    return { proxy, engine: proxied, worker };
  }

  /** Asserts one clean run of a threeSteps execution: each side effect once, and an intact journal. */
  async function expectRanOnce(id: string, runs: Map<string, number>): Promise<JournalRecord[]> {
    expect(Object.fromEntries(runs)).toEqual({ reserve: 1, charge: 1, ship: 1 });
    const journal = (await direct().admin.readJournal(id)).records;
    // Intact: every checksum matches, each record chains to the one before, the execution ends at the last.
    expect(journal.every((r) => r.checksumOk)).toBe(true);
    expect(journal.map((r) => r.prevLsn)).toEqual([null, ...journal.slice(0, -1).map((r) => r.lsn)]);
    expect(journal.at(-1)?.executionLastLsn).toBe(journal.at(-1)?.lsn);
    expect(journal[0]?.kind).toBe('execution_started');
    expect(journal.at(-1)?.kind).toBe('execution_completed');
    // One completion per step, in order; one end.
    expect(journal.filter((r) => r.kind === 'step_completed').map((r) => r.stepKey)).toEqual(STEPS);
    expect(journal.filter((r) => r.kind === 'execution_completed')).toHaveLength(1);
    // No transition twice: no step attempt started twice, and each completion is that of the step's last
    // attempt, recorded after its start.
    const starts = journal.filter((r) => r.kind === 'step_started').map((r) => `${r.stepKey}#${r.attempt}`);
    expect(new Set(starts).size).toBe(starts.length);
    for (const key of STEPS) {
      const lastStart = journal.filter((r) => r.kind === 'step_started' && r.stepKey === key).at(-1)!;
      const completion = journal.find((r) => r.kind === 'step_completed' && r.stepKey === key)!;
      expect(completion.attempt).toBe(lastStart.attempt);
      expect(completion.lsn).toBeGreaterThan(lastStart.lsn);
      expect(completion.payload).toBe(`${key} done`);
    }
    const detail = await direct().admin.getExecution(id);
    expect(detail?.execution.status).toBe('COMPLETED');
    expect(detail?.execution.output).toEqual(RESULT);
    expect(detail?.steps.map((s) => [s.key, s.status])).toEqual(STEPS.map((k) => [k, 'COMPLETED']));
    return journal;
  }

  const startsOf = (journal: JournalRecord[], key: string) =>
    journal.filter((r) => r.kind === 'step_started' && r.stepKey === key).map((r) => r.attempt);

  test('every connection cut while a step runs: the worker reconnects and the execution completes, each step once', async () => {
    const runs = new Map<string, number>();
    const inCharge = latch();
    const releaseCharge = latch();
    const wf = threeSteps('net-mid-step', runs, async (key) => {
      if (key !== 'charge') return;
      inCharge.open();
      await releaseCharge.promise; // held until the network has dropped
    });
    const { proxy, worker } = await workerBehindProxy([wf]);
    await worker.start();
    const handle = await direct().start(wf, {});
    await inCharge.promise;

    const accepted = proxy.acceptedCount;
    expect(proxy.cutAll()).toBeGreaterThan(0); // the pool's connections and the LISTEN connection
    expect(proxy.connectionCount).toBe(0);
    releaseCharge.open();

    expect(await handle.result({ timeoutMs: 20_000 })).toEqual(RESULT);
    expect(proxy.acceptedCount).toBeGreaterThan(accepted); // it went on through new connections
    const journal = await expectRanOnce(handle.id, runs);
    // "charge" was not started again: its completion went through under its first attempt, either at
    // once on a new connection or after a hand-back (if a write met a connection not yet known dead).
    expect(startsOf(journal, 'charge')).toEqual([1]);
    expect(worker.stats).toMatchObject({ completed: 1, failed: 0, leaseLost: 0 });
  });

  for (const moment of MOMENTS) {
    test(`a connection cut ${moment} a step write (record_steps_durably): its outcome is resolved, each step runs once`, async () => {
      const runs = new Map<string, number>();
      const wf = threeSteps(`net-step-write-${moment}`, runs);
      const { proxy, worker } = await workerBehindProxy([wf]);
      // The first write that carries a completion: "reserve" completed, with the intent of "charge".
      const cut = proxy.cutWhen((q) => isWrite('record_steps_durably')(q) && q.includes('"completed"'), moment);
      const sendsOfReserve: string[] = [];
      proxy.onRequest((q) => {
        if (isWrite('record_steps_durably')(q) && q.includes('"key":"reserve","attempt":1')) sendsOfReserve.push(q);
      });
      await worker.start();
      const handle = await direct().start(wf, {});
      const cutRequest = await cut;
      expect(cutRequest).toContain('"start_key":"charge"');

      expect(await handle.result({ timeoutMs: 20_000 })).toEqual(RESULT);
      const journal = await expectRanOnce(handle.id, runs);
      // The worker could not tell whether the cut write committed, so it sent the completion of "reserve"
      // again before handing the execution back; a repeat of the same attempt is skipped: one record.
      expect(sendsOfReserve.length).toBeGreaterThanOrEqual(2);
      expect(journal.filter((r) => r.stepKey === 'reserve' && r.kind === 'step_completed').map((r) => r.attempt)).toEqual([1]);
      // Handed back once, then resumed from the journal.
      expect(worker.stats).toMatchObject({ claimed: 2, completed: 1, handedBack: 1, failed: 0, leaseLost: 0 });
      // When the cut write committed, "charge" was started (attempt 1) and its function never ran; the
      // resumed run starts it again as attempt 2, and runs it once.
      if (moment === 'after-response') expect(startsOf(journal, 'charge')).toEqual([1, 2]);
      if (moment === 'before-forward') expect(startsOf(journal, 'charge')).toEqual([1]);
    });
  }

  test('a connection cut after a group commit of several executions committed: each of them completes, each step once', async () => {
    const runs = new Map<string, number>(); // by "<execution id>:<step key>"
    const gate = latch();
    const wf = defineWorkflow('net-batch', async (ctx) => {
      const outputs: string[] = [];
      for (const key of STEPS) {
        outputs.push(
          await ctx.step(key, async (s) => {
            runs.set(s.idempotencyKey, (runs.get(s.idempotencyKey) ?? 0) + 1);
            if (key === 'reserve') await gate.promise; // all finish "reserve" together
            return `${key} done`;
          }),
        );
      }
      return outputs;
    });
    const { proxy, worker } = await workerBehindProxy([wf], { concurrency: 8 });
    // A write of two in flight goes alone; the others queue behind them and go together, as one batch.
    // The first batch with several executions' completions in it is cut after its commit.
    const cut = proxy.cutWhen(
      (q) => isWrite('record_steps_durably')(q) && q.includes('"completed"') && q.split('"execution_id"').length > 2,
      'after-response',
    );
    await worker.start();
    const handles = await Promise.all(Array.from({ length: 8 }, () => direct().start(wf, {})));
    await until(() => runs.size === handles.length, 'every execution is inside "reserve"');
    gate.open();
    const inBatch = (await cut).split('"execution_id"').length - 1;
    expect(inBatch).toBeGreaterThan(1);

    for (const h of handles) {
      expect(await h.result({ timeoutMs: 20_000 })).toEqual(RESULT);
      const own = new Map([...runs].filter(([k]) => k.startsWith(`${h.id}:`)).map(([k, n]) => [k.slice(h.id.length + 1), n]));
      await expectRanOnce(h.id, own);
    }
    // Every execution of the cut batch was handed back once and resumed; the others were not.
    expect(worker.stats).toMatchObject({ claimed: handles.length + inBatch, completed: handles.length, handedBack: inBatch, failed: 0 });
  });

  for (const moment of MOMENTS) {
    test(`a connection cut ${moment} the final transition (a step write that finishes): the execution completes exactly once`, async () => {
      const runs = new Map<string, number>();
      const wf = threeSteps(`net-complete-${moment}`, runs);
      const { proxy, worker } = await workerBehindProxy([wf]);
      const cut = proxy.cutWhen((q) => isWrite('record_steps_durably')(q) && q.includes('"finish"'), moment);
      await worker.start();
      const handle = await direct().start(wf, {});
      await cut;

      expect(await handle.result({ timeoutMs: 20_000 })).toEqual(RESULT);
      await expectRanOnce(handle.id, runs); // one execution_completed, the last record
      // The worker settles it either way, and never as a failure: after the cut it reads whether its
      // COMMIT happened, and reports a completion that did as completed.
      await until(() => worker.activeExecutions === 0, 'the worker has finished its run');
      expect(worker.stats).toMatchObject({ failed: 0 });
      const { execution } = (await direct().admin.getExecution(handle.id))!;
      // Committed before the cut: nothing ran again. Not committed: handed back and resumed, by replay.
      if (moment === 'after-response') {
        expect(execution.claimCount).toBe(1);
        expect(worker.stats).toMatchObject({ completed: 1, handedBack: 0 });
      }
      if (moment === 'before-forward') {
        expect(execution.claimCount).toBe(2);
        expect(worker.stats).toMatchObject({ completed: 1, handedBack: 1 });
      }
      // The result stays readable, and nothing is written after the end.
      const again = (await direct().admin.readJournal(handle.id)).records;
      expect(again.at(-1)?.kind).toBe('execution_completed');
      expect(await direct().handle(handle.id).result({ timeoutMs: 5_000 })).toEqual(RESULT);
    });
  }

  test('the connection of a transactional step dropped between its statements: nothing half-applied, the step commits once', async () => {
    await direct().db.exec('CREATE TABLE IF NOT EXISTS net_tx_effects (execution_id uuid, n int)');
    const inside = latch();
    const release = latch();
    let first = true;
    const wf = defineWorkflow('net-tx', async (ctx) =>
      ctx.transaction('write', async (tx) => {
        await tx.query('INSERT INTO net_tx_effects VALUES ($1, 1)', [tx.executionId]);
        if (first) {
          first = false;
          inside.open();
          await release.promise; // the connection is cut here, between two statements
        }
        await tx.query('INSERT INTO net_tx_effects VALUES ($1, 2)', [tx.executionId]);
        return 'written';
      }),
    );
    const { proxy, worker } = await workerBehindProxy([wf]);
    await worker.start();
    const handle = await direct().start(wf, {});
    await inside.promise;
    expect(proxy.cutAll()).toBeGreaterThan(0); // the process must survive the 'error' of the checked-out client
    release.open();
    expect(await handle.result({ timeoutMs: 20_000 })).toBe('written');
    const rows = await direct().db.query<{ n: number }>('SELECT n FROM net_tx_effects WHERE execution_id = $1 ORDER BY n', [handle.id]);
    expect(rows.map((r) => r.n)).toEqual([1, 2]); // the cut attempt's first statement rolled back with it
    const completions = (await direct().admin.readJournal(handle.id)).records.filter((r) => r.kind === 'step_completed');
    expect(completions).toHaveLength(1);
  });

  test('the network goes down while the worker is idle: once it is back, the worker picks up new work', async () => {
    const runs = new Map<string, number>();
    const wf = threeSteps('net-idle', runs);
    const { proxy, engine, worker } = await workerBehindProxy([wf]);
    await worker.start();
    await until(() => (engine.db as PgDatabase).isListening, 'the worker listens');

    proxy.refuseConnections(true);
    expect(proxy.cutAll()).toBeGreaterThan(0);
    // The worker's claims (and its LISTEN reconnection) fail a few times while the server is unreachable.
    await until(() => proxy.refusedCount >= 3, 'the worker has tried to reconnect');
    const handle = await direct().start(wf, {}); // started meanwhile, from elsewhere
    proxy.refuseConnections(false);

    expect(await handle.result({ timeoutMs: 20_000 })).toEqual(RESULT);
    await expectRanOnce(handle.id, runs);
    // LISTEN is re-established too, so wake-ups do not rest on polling alone from now on.
    await until(() => (engine.db as PgDatabase).isListening, 'the worker listens again');
  });

  for (const moment of MOMENTS) {
    test(`a connection cut ${moment} a claim (claim_executions): the execution still runs, each step once`, async () => {
      const runs = new Map<string, number>();
      const wf = threeSteps(`net-claim-${moment}`, runs);
      // A short lease: after an 'after-response' cut the claim committed and the worker never learned it,
      // so the execution is RUNNING under a lease nobody holds until it expires (2 s), then resumed.
      const { proxy, worker } = await workerBehindProxy([wf], { leaseMs: 2_000 });
      // Started before the worker, so the worker's first claim is the one that takes it, and is cut.
      const handle = await direct().start(wf, {});
      const cut = proxy.cutWhen(isWrite('claim_executions'), moment);
      await worker.start();
      await cut;

      expect(await handle.result({ timeoutMs: 20_000 })).toEqual(RESULT);
      const journal = await expectRanOnce(handle.id, runs);
      for (const key of STEPS) expect(startsOf(journal, key)).toEqual([1]); // the lost claim ran nothing
      const { execution } = (await direct().admin.getExecution(handle.id))!;
      if (moment === 'after-response') expect(execution.claimCount).toBe(2); // the lost claim, then the resumption
      if (moment === 'before-forward') expect(execution.claimCount).toBe(1);
      expect(worker.stats).toMatchObject({ completed: 1, failed: 0, handedBack: 0, leaseLost: 0 });
    });
  }
});
