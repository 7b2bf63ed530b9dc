/**
 * What asynchronous commit may lose, measured: the order workflow (examples/orders) runs at full speed on a
 * fresh database of the local PostgreSQL server, which is then crashed (`pg_ctlcluster … stop -m immediate`:
 * every server process killed at once, nothing flushed on the way out) and started again; a new worker
 * finishes the orders. Once with durability 'off' (synchronous_commit = off), once with 'on'.
 *
 * NOT part of the test suite: it stops the shared server for a few seconds (other clients' connections
 * drop). Run it by hand, as root or the cluster's owner, on a machine whose server you may restart:
 *
 *   npx tsx scripts/crash-server-async-commit.ts
 *
 * Acknowledged, on the client side: a step whose completion the database confirmed to the worker before the
 * crash — a transactional step (place, ship) when its COMMIT returned; notify when the next step started
 * (its completion is committed with the next step's intent). Each is appended to a local log as it happens.
 * After the restart, before any worker runs, the script reads which completions the database still has:
 * an acknowledged one it lacks was lost, and must run again. It also checks with SQL that nothing is
 * half-applied: every order row has its recorded place step and its stock change, and every SHIPPED order
 * its recorded ship step (the statements of a transactional step and its completion are all there or all
 * gone) — right after the restart, and again when every order has finished.
 *
 * Exits 0 when the 'on' run lost no acknowledged completion, nothing was half-applied in either run and
 * every order finished exactly once; 1 otherwise. The server is running again when it exits.
 *
 * Environment: CRASH_DATABASE_URL (admin connection, default postgres://postgres@127.0.0.1:5432/postgres),
 * CRASH_PG_CLUSTER ("<version>/<name>", default: the one cluster under /etc/postgresql, "main"),
 * CRASH_ORDERS (4000), CRASH_AFTER_MS (2000: how long the worker runs before the crash), CRASH_CONCURRENCY (32).
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { checkShop, halfApplied, orderWorkflow, ORDER_STEPS, setUpShop, type OrderStepKey, type ShopCheck } from '../examples/orders/order-workflow.js';
import { createEngine, type Engine } from '../src/index.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line = '') => process.stdout.write(`${line}\n`);
const log = (msg: string) => process.stderr.write(`[crash] ${msg}\n`);

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

const ADMIN_URL = process.env.CRASH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ORDERS = int('CRASH_ORDERS', 4_000);
const CRASH_AFTER_MS = int('CRASH_AFTER_MS', 2_000);
const CONCURRENCY = int('CRASH_CONCURRENCY', 32);
const SKUS = 50;

function cluster(): { version: string; name: string } {
  const given = process.env.CRASH_PG_CLUSTER;
  if (given) {
    const [version, name] = given.split('/');
    if (!version || !name) throw new Error('CRASH_PG_CLUSTER must be "<version>/<name>", e.g. 15/main');
    return { version, name };
  }
  const versions = readdirSync('/etc/postgresql');
  if (versions.length !== 1) throw new Error(`/etc/postgresql has ${versions.join(', ') || 'nothing'}: set CRASH_PG_CLUSTER=<version>/<name>`);
  return { version: versions[0]!, name: 'main' };
}

const CLUSTER = cluster();

/**
 * A pooled connection checked out by a transaction (src/db/pg-database.ts, transaction()) has no 'error'
 * listener while the transaction runs user code between two statements, so a server crash makes node-postgres
 * emit an unhandled 'error' event there, which would end this process. Those are absorbed (and counted)
 * while the server is being crashed; anything else still ends the process.
 */
let crashing = false;
let absorbedClientErrors = 0;
process.on('uncaughtException', (err) => {
  const message = err instanceof Error ? err.message : String(err);
  if (crashing && /terminat|Connection|ECONNRESET|shutdown|administrator command/i.test(message)) {
    absorbedClientErrors++;
    return;
  }
  console.error(err);
  process.exit(1);
});
const pgctl = (...args: string[]) => run('pg_ctlcluster', ['--skip-systemctl-redirect', CLUSTER.version, CLUSTER.name, ...args]);

async function clusterOnline(): Promise<boolean> {
  const { stdout } = await run('pg_lsclusters', ['--no-header']);
  return stdout.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[0] === CLUSTER.version && f[1] === CLUSTER.name && f[3] === 'online';
  });
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Polls until the server accepts connections (and has finished crash recovery); returns the seconds it took. */
async function waitUntilAccepting(url: string, maxSeconds = 120): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      await query(url, 'SELECT 1');
      return (performance.now() - t0) / 1000;
    } catch (err) {
      if (performance.now() - t0 > maxSeconds * 1000) throw new Error(`the server does not accept connections after ${maxSeconds} s: ${String(err)}`);
      await sleep(100);
    }
  }
}

/** Completed steps as `<execution id>:<step key>`. */
async function completedSteps(url: string): Promise<Set<string>> {
  const rows = await query<{ k: string }>(url, `SELECT execution_id || ':' || step_key AS k FROM aries.steps WHERE status = 'COMPLETED'`);
  return new Set(rows.map((r) => r.k));
}

interface CrashReport {
  durability: 'on' | 'off';
  started: number;
  ackedBeforeCrash: number;
  ackedByStep: Record<OrderStepKey, number>;
  /** The database's own view just before the stop command (a reader's snapshot): completed steps, and its WAL not yet flushed. */
  snapshotCompleted: number;
  snapshotUnflushedWalBytes: number;
  /** Acknowledgements that arrived after the snapshot (while the stop command ran, or read from the socket after it). */
  ackedAfterSnapshot: number;
  stopCommandSeconds: number;
  /** pg_ctlcluster start (it waits for crash recovery), then until a connection is accepted. */
  startCommandSeconds: number;
  restartSeconds: number;
  completedAfterRestart: number;
  lost: number;
  lostByStep: Record<OrderStepKey, number>;
  lostFromSnapshot: number;
  lostReRan: number;
  checkAfterRestart: ShopCheck;
  checkAtEnd: ShopCheck;
  allCompleted: boolean;
  executionsCompleted: number;
  notifyEffectsTwice: number;
  stepsAttemptAbove1: number;
  /** Unhandled 'error' events of checked-out pooled connections during the crash (see uncaughtException above). */
  absorbedClientErrors: number;
  logDir: string;
}

const byStep = (keys: Iterable<string>): Record<OrderStepKey, number> => {
  const counts = { place: 0, notify: 0, ship: 0 };
  for (const k of keys) counts[k.slice(k.lastIndexOf(':') + 1) as OrderStepKey]++;
  return counts;
};

async function crashRun(durability: 'on' | 'off'): Promise<CrashReport> {
  const name = `aries_crash_${durability}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(ADMIN_URL, name);
  const logDir = mkdtempSync(join(tmpdir(), `aries-crash-${durability}-`));
  const ackLog = join(logDir, 'acknowledged.log');
  const effectsLog = join(logDir, 'notify-effects.log');
  await query(ADMIN_URL, `CREATE DATABASE ${name}`);
  let phase: 'before' | 'crashed' | 'after' = 'before';
  const acked = new Set<string>();
  const ranAfter = new Set<string>(); // steps this process ran (and saw acknowledged) after the restart
  const notifyEffects = new Map<string, number>();
  const wf = orderWorkflow(durability, {
    notify: (message, step) => {
      // The side effect: one line in a local file, per run of the step.
      appendFileSync(effectsLog, `${step.executionId} attempt=${step.attempt} phase=${phase} to=${message.to}\n`);
      notifyEffects.set(step.executionId, (notifyEffects.get(step.executionId) ?? 0) + 1);
    },
    acknowledged: (executionId, stepKey) => {
      const key = `${executionId}:${stepKey}`;
      if (phase === 'before') {
        acked.add(key);
        appendFileSync(ackLog, `${key}\n`);
      } else if (phase === 'after') {
        ranAfter.add(key);
      }
    },
  });
  const onError = () => {}; // connection errors while the server is down are expected
  const absorbedBefore = absorbedClientErrors;
  try {
    // 1. Orders started, then a worker at full speed.
    const engineA = await createEngine({ databaseUrl: url, onError, onWarning: log });
    let snapshot: { completed: Set<string>; unflushed: number };
    let ackedAtSnapshot: number;
    let stopCommandSeconds: number;
    try {
      await setUpShop(engineA.db, Object.fromEntries(Array.from({ length: SKUS }, (_, s) => [`sku-${s}`, 10 * ORDERS])));
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < ORDERS) {
            const i = next++;
            await engineA.start(wf, { orderId: `order-${i}`, sku: `sku-${i % SKUS}`, quantity: 1 + (i % 3), customer: `customer-${i}` });
          }
        }),
      );
      const reader = new pg.Client({ connectionString: url });
      reader.on('error', () => {});
      await reader.connect();
      const worker = engineA.worker({ workflows: [wf], concurrency: CONCURRENCY, leaseMs: 5_000, pollIntervalMs: 50, schedulerIntervalMs: 0, shutdownTimeoutMs: 2_000 });
      await worker.start();
      await sleep(CRASH_AFTER_MS);

      // 2. The database's own view, then the crash at once.
      const rows = (await reader.query<{ k: string }>(`SELECT execution_id || ':' || step_key AS k FROM aries.steps WHERE status = 'COMPLETED'`)).rows;
      const [lsn] = (await reader.query<{ unflushed: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn())::text AS unflushed`)).rows;
      snapshot = { completed: new Set(rows.map((r) => r.k)), unflushed: Number(lsn!.unflushed) };
      ackedAtSnapshot = acked.size;
      crashing = true;
      log(`${durability}: ${acked.size} step completions acknowledged; stopping the server in immediate mode …`);
      const stopStart = performance.now();
      await pgctl('stop', '-m', 'immediate');
      stopCommandSeconds = (performance.now() - stopStart) / 1000;
      // Replies that reached this process before the crash are still being read: let them arrive, so every
      // acknowledgement the server sent is counted; no new one can come, the server is down.
      await sleep(500);
      phase = 'crashed';
      await reader.end().catch(() => {});
      await worker.stop();
    } finally {
      await engineA.close().catch(() => {});
      crashing = false;
    }

    // 3. Restart, and what survived before anything else runs.
    log(`${durability}: starting the server again …`);
    const startStart = performance.now();
    await pgctl('start');
    const startCommandSeconds = (performance.now() - startStart) / 1000;
    const restartSeconds = await waitUntilAccepting(url);
    const survived = await completedSteps(url);
    const lostKeys = [...acked].filter((k) => !survived.has(k));
    const lostFromSnapshot = [...snapshot.completed].filter((k) => !survived.has(k)).length;
    const checkAfterRestart = await (async () => {
      const e = await createEngine({ databaseUrl: url, onError, onWarning: log });
      try {
        return await checkShop(e.db);
      } finally {
        await e.close();
      }
    })();

    // 4. A new worker finishes every order.
    phase = 'after';
    const engineB: Engine = await createEngine({ databaseUrl: url, onError, onWarning: log });
    try {
      const worker = engineB.worker({ workflows: [wf], concurrency: CONCURRENCY, pollIntervalMs: 100, schedulerIntervalMs: 0 });
      await worker.start();
      const deadline = Date.now() + 180_000;
      let done = 0;
      while (Date.now() < deadline) {
        const [row] = await engineB.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM aries.executions WHERE status = 'COMPLETED'`);
        done = Number(row!.n);
        if (done === ORDERS) break;
        await sleep(250);
      }
      await worker.stop();
      const checkAtEnd = await checkShop(engineB.db);
      const [attempts] = await engineB.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM aries.steps WHERE attempt > 1`);
      return {
        durability,
        started: ORDERS,
        ackedBeforeCrash: acked.size,
        ackedByStep: byStep(acked),
        snapshotCompleted: snapshot.completed.size,
        snapshotUnflushedWalBytes: snapshot.unflushed,
        ackedAfterSnapshot: acked.size - ackedAtSnapshot,
        stopCommandSeconds,
        startCommandSeconds,
        restartSeconds,
        completedAfterRestart: survived.size,
        lost: lostKeys.length,
        lostByStep: byStep(lostKeys),
        lostFromSnapshot,
        lostReRan: lostKeys.filter((k) => (k.endsWith(':notify') ? (notifyEffects.get(k.slice(0, k.lastIndexOf(':'))) ?? 0) > 1 : ranAfter.has(k))).length,
        checkAfterRestart,
        checkAtEnd,
        allCompleted: done === ORDERS,
        executionsCompleted: done,
        notifyEffectsTwice: [...notifyEffects.values()].filter((n) => n > 1).length,
        stepsAttemptAbove1: Number(attempts!.n),
        absorbedClientErrors: absorbedClientErrors - absorbedBefore,
        logDir,
      };
    } finally {
      await engineB.close();
    }
  } finally {
    if (!(await clusterOnline())) {
      log('the server is down: starting it');
      await pgctl('start').catch((err: unknown) => log(`pg_ctlcluster start failed: ${String(err)}`));
      await waitUntilAccepting(ADMIN_URL).catch(() => {});
    }
    await query(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => log(`could not drop ${name}: ${String(err)}`));
  }
}

function describe(r: CrashReport): string[] {
  const steps = (c: Record<OrderStepKey, number>) => ORDER_STEPS.map((k) => `${k} ${c[k]}`).join(', ');
  const check = (c: ShopCheck) =>
    halfApplied(c) === 0
      ? `none half-applied (${c.orders} order rows, each with its place step and stock change; ${c.shipped} SHIPPED, each with its ship step)`
      : `HALF-APPLIED: ${JSON.stringify(c)}`;
  return [
    `durability ${r.durability} (synchronous_commit = ${r.durability} for the step completions)`,
    `  before the crash: ${r.ackedBeforeCrash} step completions acknowledged to the worker (${steps(r.ackedByStep)}), ` +
      `${r.ackedAfterSnapshot} of them after the snapshot below, while the stop command (${r.stopCommandSeconds.toFixed(2)} s) was on its way`,
    `  a reader's snapshot just before the stop command: ${r.snapshotCompleted} completed steps; WAL inserted but not yet flushed: ${r.snapshotUnflushedWalBytes} bytes`,
    `  restart: pg_ctlcluster start (crash recovery included) ${r.startCommandSeconds.toFixed(1)} s, first connection ${r.restartSeconds.toFixed(2)} s later; ` +
      `${r.completedAfterRestart} completed steps in the database`,
    `  LOST: ${r.lost} acknowledged step completions (${steps(r.lostByStep)}); ${r.lostFromSnapshot} of the snapshot's; ${r.lostReRan} of the lost ran again after the restart`,
    `  right after the restart: ${check(r.checkAfterRestart)}`,
    `  after the new worker: ${r.executionsCompleted} of ${r.started} orders COMPLETED; ${check(r.checkAtEnd)}`,
    `  steps with attempt > 1: ${r.stepsAttemptAbove1}; executions whose notify effect ran twice: ${r.notifyEffectsTwice} ` +
      `(a notify in flight at the crash, or one whose acknowledged completion was lost, runs again with the same idempotency key)`,
    `  worker side: ${r.absorbedClientErrors} unhandled 'error' events of pooled connections checked out by a transaction (absorbed; see the note in this script)`,
    `  client-side logs: ${r.logDir}`,
  ];
}

async function main(): Promise<number> {
  const [settings] = await query<{ fsync: string; sc: string; wwd: string; v: string }>(
    ADMIN_URL,
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('wal_writer_delay') AS wwd, current_setting('server_version') AS v`,
  );
  if (!(await clusterOnline())) throw new Error(`cluster ${CLUSTER.version}/${CLUSTER.name} is not online (pg_lsclusters)`);
  say(`PostgreSQL ${settings!.v}, cluster ${CLUSTER.version}/${CLUSTER.name}: fsync=${settings!.fsync}, synchronous_commit=${settings!.sc} (server default), wal_writer_delay=${settings!.wwd}`);
  say(`${ORDERS} orders (place → notify → ship) per run, a worker at concurrency ${CONCURRENCY}, the server stopped in immediate mode ${CRASH_AFTER_MS} ms after the worker started`);
  say();
  const reports: CrashReport[] = [];
  for (const durability of ['off', 'on'] as const) {
    const r = await crashRun(durability);
    reports.push(r);
    for (const line of describe(r)) say(line);
    say();
  }
  const on = reports.find((r) => r.durability === 'on')!;
  const off = reports.find((r) => r.durability === 'off')!;
  const halfDone = reports.some((r) => halfApplied(r.checkAfterRestart) > 0 || halfApplied(r.checkAtEnd) > 0);
  const unfinished = reports.some((r) => !r.allCompleted || r.checkAtEnd.orders !== r.started || r.checkAtEnd.shipped !== r.started);
  const ok = on.lost === 0 && !halfDone && !unfinished;
  say(`summary: off lost ${off.lost} of ${off.ackedBeforeCrash} acknowledged completions, on lost ${on.lost} of ${on.ackedBeforeCrash}; ` +
    `half-applied: ${halfDone ? 'YES' : 'none'}; every order finished exactly once: ${unfinished ? 'NO' : 'yes'}`);
  say(`server ${CLUSTER.version}/${CLUSTER.name} online: ${await clusterOnline()}`);
  say(ok ? "OK: durability 'on' lost no acknowledged completion, and no transactional step was half-applied" : 'NOT OK: see above');
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    console.error(err);
    if (!(await clusterOnline().catch(() => false))) await pgctl('start').catch(() => {});
    process.exitCode = 1;
  },
);
