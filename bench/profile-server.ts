/**
 * Where a durable step's time goes on the PostgreSQL server: `npx tsx bench/profile-server.ts`.
 * Drives the engine's SQL functions directly (sql-step-patterns.ts: the calls a worker makes per step,
 * without the worker around them) on a fresh database, and reports:
 *
 *   1. one client, sequential calls: wall time and server CPU (the backend's own CPU time, from /proc,
 *      which a busy machine does not inflate) per step, for each write pattern, next to a bare round
 *      trip and a single-row INSERT commit;
 *   2. 16 clients: steps/s per write pattern — what the worker does, without the checkpoint row,
 *      without the intent write, and several executions batched into one statement (one commit) —
 *      with the server CPU each step cost;
 *   3. the worker's patterns again with synchronous_commit=off set on this database only, separating
 *      waits for WAL flushes from execution cost;
 *   4. per-function time (track_functions=all on this database only; wall-clock, so a busy machine
 *      inflates it, but the split between functions holds);
 *   5. the plans of the statements inside the step functions (auto_explain, loaded into one session,
 *      reported to the client as NOTICEs);
 *   6. with BENCH_PERF=1 and perf installed, a CPU profile of the server backends during (2)'s worker
 *      pattern: the hottest symbols.
 *
 * Nothing here changes the server's configuration; the database is dropped at the end.
 * Env: BENCH_DATABASE_URL, BENCH_PROFILE_SECONDS (per variant, default 8), BENCH_QUIET_THRESHOLD,
 * BENCH_QUIET_WAIT_SECONDS, BENCH_PERF.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createEngine } from '../src/index.js';
import { readConfig } from './config.js';
import { cpuSince, cpuSnapshot, processCpu, waitForQuiet } from './cpu-usage.js';
import { fmt, textTable } from './report.js';
import { createServerDatabase } from './server-database.js';
import { claimFresh, completionJson, connect, drive, hasFunction, prepare, STEPS, type Variant } from './sql-step-patterns.js';

const config = readConfig();
const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? '8');
const CLIENTS = 16;
const log = (msg: string) => console.error(`[profile] ${msg}`);
const quiet = () => waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);

async function backendPid(c: pg.Client): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

/** Wall ms and backend CPU µs per call, for `n` sequential calls of `fn` on one client. */
async function single(c: pg.Client, n: number, fn: () => Promise<unknown>): Promise<{ ms: number; cpuUs: number }> {
  const pid = await backendPid(c);
  const cpu0 = processCpu(pid) ?? NaN;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return { ms: (performance.now() - t0) / n, cpuUs: (((processCpu(pid) ?? NaN) - cpu0) * 1e6) / n };
}

/** The same per step of a write pattern, driven on one client (starting and claiming not counted). */
async function singleSteps(c: pg.Client, v: Variant, steps: number): Promise<{ ms: number; cpuUs: number }> {
  const pid = await backendPid(c);
  let cpu0 = NaN;
  const r = await drive([c], v, { seconds: 120, maxSteps: steps }, () => (cpu0 = processCpu(pid) ?? NaN));
  return { ms: (r.seconds * 1000) / r.steps, cpuUs: (((processCpu(pid) ?? NaN) - cpu0) * 1e6) / r.steps };
}

function variants(hasRecordSteps: boolean, hasBatch: boolean): Variant[] {
  const batched = (n: number): Variant =>
    hasBatch
      ? { name: `record_steps_batch ×${n} executions (checkpoint)`, pattern: 'piggyback-batch', batch: n, checkpoint: true }
      : { name: `record_steps ×${n} executions per statement (checkpoint)`, pattern: 'piggyback', batch: n, checkpoint: true };
  return [
    { name: 'begin_step + complete_step(checkpoint)', pattern: 'begin+complete', batch: 1, checkpoint: true },
    { name: 'begin_step + complete_step, no checkpoint row', pattern: 'begin+complete', batch: 1, checkpoint: false },
    { name: 'complete_step(checkpoint) only, no intent', pattern: 'complete-only', batch: 1, checkpoint: true },
    { name: 'complete_step only, no intent, no checkpoint row', pattern: 'complete-only', batch: 1, checkpoint: false },
    ...(hasRecordSteps
      ? ([
          { name: 'record_steps: completion + next intent (checkpoint)', pattern: 'piggyback', batch: 1, checkpoint: true },
          { name: 'record_steps: completion + next intent, no checkpoint row', pattern: 'piggyback', batch: 1, checkpoint: false },
          batched(4),
          batched(16),
          ...(hasBatch ? [{ ...batched(16), name: 'record_steps_batch ×16 executions, no checkpoint row', checkpoint: false }] : []),
        ] satisfies Variant[])
      : []),
    { name: 'begin + complete(checkpoint) ×4 executions per statement', pattern: 'begin+complete', batch: 4, checkpoint: true },
    { name: 'floor: one plain statement (execution row, journal record, steps row)', pattern: 'minimal', batch: 1, checkpoint: false },
    { name: 'floor: one plain statement ×16 executions', pattern: 'minimal', batch: 16, checkpoint: false },
    { name: 'complete(checkpoint) only ×16 executions per statement', pattern: 'complete-only', batch: 16, checkpoint: true },
  ];
}

/** `perf record` of the given processes for `secs` seconds; resolves to the top symbols by self time. */
function perfProfile(pids: number[], secs: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'aries-bench-perf-'));
  const data = join(dir, 'perf.data');
  const run = (args: string[]) =>
    new Promise<string>((resolve) =>
      execFile('perf', args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve(err ? `perf failed: ${stderr || err.message}` : stdout)),
    );
  return run(['record', '-q', '-F', '499', '-p', pids.join(','), '-o', data, '--', 'sleep', String(secs)])
    .then(() => run(['report', '-i', data, '--stdio', '--no-children', '--sort', 'dso,symbol', '--percent-limit', '0.8']))
    .then((out) => out.split('\n').filter((l) => /^\s+\d/.test(l)).slice(0, 40).join('\n'))
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function main(): Promise<void> {
  const database = await createServerDatabase(config.adminUrl, 'profile');
  log(`fresh database ${database.name}`);
  try {
    await (await createEngine({ databaseUrl: database.url })).close(); // migrates
    const [admin] = await connect(database.url, 1);
    await prepare(admin!);
    await admin!.query('CREATE TABLE bench_commits (v bigint NOT NULL)');
    const hasRecordSteps = await hasFunction(admin!, 'record_steps');
    const hasBatch = await hasFunction(admin!, 'record_steps_batch');
    const all = variants(hasRecordSteps, hasBatch);
    const workerPatterns = all.filter((v) => v.batch === 1 && v.checkpoint && v.pattern !== 'complete-only');
    // What the worker sends under load: its executions' step writes together, when the schema batches them.
    const underLoad = all.find((v) => v.pattern === 'piggyback-batch' && v.batch === 16 && v.checkpoint) ?? workerPatterns[workerPatterns.length - 1]!;
    if (!workerPatterns.includes(underLoad)) workerPatterns.push(underLoad);

    // 1. One client.
    {
      await quiet();
      const [c] = await connect(database.url, 1);
      const n = 2000;
      const rows: string[][] = [];
      const add = (name: string, r: { ms: number; cpuUs: number }) => rows.push([name, fmt(r.ms, 3), fmt(r.cpuUs, 0)]);
      await c!.query('SELECT 1');
      add('SELECT 1 (a round trip)', await single(c!, n, () => c!.query('SELECT 1')));
      add('INSERT, autocommit (a synchronous commit)', await single(c!, n, () => c!.query('INSERT INTO bench_commits(v) VALUES (1)')));
      for (const v of all.filter((x) => x.batch === 1 || x.batch === 16)) {
        await drive([c!], v, { seconds: 60, maxSteps: 10 * v.batch * 10 }); // warm the plan caches
        add(`step: ${v.name}`, await singleSteps(c!, v, n));
      }
      await c!.end();
      console.log(textTable({
        title: 'One client, sequential: per call or per step',
        head: ['work', 'wall ms', 'server CPU µs'],
        rows,
        notes: ['server CPU = the backend process\'s user+system time; starting and claiming the executions is not included.'],
      }) + '\n');
    }

    // 2–3. Sixteen clients.
    const rows: string[][] = [];
    let clients = await connect(database.url, CLIENTS);
    const dbName = database.name;
    await quiet();
    let commitsPerSecond: number;
    {
      let n = 0;
      let stop = false;
      const timer = setTimeout(() => (stop = true), seconds * 1000);
      const cpu0 = cpuSnapshot(dbName);
      const t0 = performance.now();
      await Promise.all(clients.map(async (cl, lane) => {
        for (let v = lane; !stop; v += CLIENTS, n++) await cl.query('INSERT INTO bench_commits(v) VALUES ($1)', [v]);
      }));
      clearTimeout(timer);
      const cpu = cpuSince(cpu0, cpuSnapshot(dbName));
      commitsPerSecond = n / ((performance.now() - t0) / 1000);
      rows.push(['single-row INSERT commits (reference)', fmt(commitsPerSecond), '1.00', fmt(((cpu.postgres ?? NaN) / commitsPerSecond) * 1e6), cpu.node.toFixed(2), cpu.postgres?.toFixed(2) ?? '–', cpu.other?.toFixed(2) ?? '–']);
    }
    let perf: string | undefined;
    for (const sync of ['on', 'off'] as const) {
      if (sync === 'off') {
        await Promise.all(clients.map((cl) => cl.end()));
        await admin!.query(`ALTER DATABASE ${dbName} SET synchronous_commit = off`);
        clients = await connect(database.url, CLIENTS);
      }
      for (const v of sync === 'on' ? all : workerPatterns) {
        await quiet();
        log(`${v.name}, synchronous_commit=${sync} …`);
        const profiling =
          sync === 'on' && process.env.BENCH_PERF === '1' && v === underLoad
            ? Promise.all(clients.map(backendPid)).then((pids) => perfProfile(pids, Math.max(1, seconds - 2)))
            : undefined;
        let cpu0 = cpuSnapshot(dbName);
        const r = await drive(clients, v, { seconds }, () => (cpu0 = cpuSnapshot(dbName)));
        const cpu = cpuSince(cpu0, cpuSnapshot(dbName));
        if (profiling) perf = await profiling;
        if (r.exhausted) log(`${v.name}: ran out of claimed executions early; the rate still holds`);
        const rate = r.steps / r.seconds;
        rows.push([
          `${v.name}${sync === 'off' ? ' [synchronous_commit=off]' : ''}`,
          fmt(rate),
          fmt(rate / commitsPerSecond, 2),
          fmt(((cpu.postgres ?? NaN) / rate) * 1e6),
          cpu.node.toFixed(2),
          cpu.postgres?.toFixed(2) ?? '–',
          cpu.other?.toFixed(2) ?? '–',
        ]);
      }
    }
    await Promise.all(clients.map((cl) => cl.end()));
    await admin!.query(`ALTER DATABASE ${dbName} RESET synchronous_commit`);
    console.log(textTable({
      title: `${CLIENTS} clients, ${STEPS} steps per execution, ${seconds} s each: steps/s by write pattern (claims, starts and execution ends not included)`,
      head: ['pattern', 'steps/s', '÷ INSERT commits/s', 'server CPU µs/step', 'node CPU', 'postgres CPU', 'other CPU'],
      rows,
      notes: ['server CPU µs/step = CPU of the server processes serving this database (and WAL writer etc.) ÷ steps; for the INSERT row, per commit.'],
    }) + '\n');
    if (perf !== undefined) {
      console.log(`Hottest symbols in the server backends (perf, self time), ${underLoad.name}:\n${perf}\n`);
    }

    // 4. Per-function time.
    await admin!.query(`ALTER DATABASE ${dbName} SET track_functions = 'all'`);
    {
      const tf = await connect(database.url, CLIENTS);
      const worker = underLoad;
      await admin!.query('SELECT pg_stat_reset()');
      await drive(tf, worker, { seconds: Math.min(seconds, 5) });
      await Promise.all(tf.map((cl) => cl.end())); // a backend flushes its statistics when it exits
      await new Promise((r) => setTimeout(r, 1_500));
      const { rows: fns } = await admin!.query<{ funcname: string; calls: string; total: number; self: number }>(
        `SELECT funcname, calls::text, total_time / calls AS total, self_time / calls AS self
           FROM pg_stat_user_functions WHERE schemaname = 'aries' ORDER BY total_time DESC`,
      );
      console.log(textTable({
        title: `Per-function time, ${worker.name} at ${CLIENTS} clients (track_functions=all; includes claiming and starting)`,
        head: ['function', 'calls', 'total ms/call', 'self ms/call'],
        rows: fns.map((f) => [f.funcname, fmt(Number(f.calls)), fmt(f.total, 4), fmt(f.self, 4)]),
        notes: ['wall-clock: total includes nested calls; the commit (WAL flush) is outside every function.'],
      }) + '\n');
    }
    await admin!.query(`ALTER DATABASE ${dbName} RESET track_functions`);

    // 5. Plans inside the step functions.
    {
      const [e] = await connect(database.url, 1);
      // Warm this session's plan caches first, so the plans and times below are the steady state.
      await drive([e!], workerPatterns[0]!, { seconds: 60, maxSteps: 100 });
      const [lease] = await claimFresh(e!, 1);
      const notices: string[] = [];
      e!.on('notice', (n) => notices.push(n.message ?? ''));
      for (const set of [
        `LOAD 'auto_explain'`,
        'SET auto_explain.log_min_duration = 0',
        'SET auto_explain.log_analyze = on',
        'SET auto_explain.log_nested_statements = on',
        'SET auto_explain.log_level = notice',
        'SET client_min_messages = notice',
      ]) await e!.query(set);
      const id = lease!.id;
      const token = lease!.token;
      const calls: [string, string, unknown[]][] = [
        ['begin_step', 'SELECT aries.begin_step(p_execution_id => $1, p_token => $2, p_seq => 0, p_step_key => \'s0\')', [id, token]],
      ];
      if (hasRecordSteps) {
        calls.push([
          'record_steps (completion of s0 + intent of s1)',
          `SELECT aries.record_steps(p_execution_id => $1, p_token => $2, p_completed => $3::jsonb, p_start_seq => 1, p_start_key => 's1')`,
          [id, token, completionJson(0, true)],
        ]);
      }
      const last = hasRecordSteps ? 1 : 0;
      calls.push([
        'complete_step',
        `SELECT aries.complete_step(p_execution_id => $1, p_token => $2, p_seq => ${last}, p_step_key => 's${last}',
                                    p_attempt => 1, p_output => '0'::jsonb, p_checkpoint => true)`,
        [id, token],
      ]);
      for (const [label, sql, params] of calls) {
        notices.length = 0;
        await e!.query(sql, params);
        console.log(`--- auto_explain: statements inside ${label} (innermost first) ---`);
        for (const n of notices) {
          const text = (/Query Text: ([\s\S]*)/.exec(n)?.[1] ?? n).split(/\n\S/)[0]!.replace(/\s+/g, ' ').trim().slice(0, 120);
          const time = /duration: ([\d.]+) ms/.exec(n)?.[1] ?? '';
          console.log(`${time.padStart(7)} ms  ${text}`);
        }
        console.log('');
      }
      await e!.end();
    }
    await admin!.end();
  } finally {
    await database.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
