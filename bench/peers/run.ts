/**
 * `npm run bench:peers`: Aries beside pg-boss, graphile-worker and DBOS on the same PostgreSQL server, one
 * system after another, each in a fresh database of its own (created and dropped here; no server setting
 * is changed), in a child process (Node.js 22 for the peers). Rounds alternate the systems; medians of the
 * rounds are compared. Also pgbench's 1-row INSERT at 8 and 16 clients on its own database: the baseline of
 * "durable steps/s ÷ INSERT commits/s". Prints the tables, appends them to bench/peers/RESULTS.md and draws
 * bench/peers/results.svg.
 *
 * Environment: BENCH_DATABASE_URL (admin connection, postgres://postgres@127.0.0.1:5432/postgres),
 * PEERS_ROUNDS (3), PEERS_JOBS (10000), PEERS_LATENCY_SAMPLES (100), PEERS_WORKFLOWS (500),
 * PEERS_SYSTEMS (all), PGBENCH_SECONDS (5), BENCH_WRITE_RESULTS (1).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeInfo, machineInfo } from '../machine.js';
import { measurePgbench } from '../pgbench-baseline.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, writeResults } from '../report.js';
import { adminQuery, createServerDatabase } from '../server-database.js';
import type { Place, SystemRun, WorkloadSettings } from './adapter.js';
import { comparisonTables, type Medians } from './comparison-table.js';
import { chartSvg } from './svg-chart.js';
import { node22, peersDir, systems, type SystemSpec } from './systems.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = num('PEERS_ROUNDS', 3);
const PGBENCH_SECONDS = num('PGBENCH_SECONDS', 5);
const settings: WorkloadSettings = {
  jobs: num('PEERS_JOBS', 10_000),
  latencySamples: num('PEERS_LATENCY_SAMPLES', 100),
  latencyWarmup: 5,
  workflows: num('PEERS_WORKFLOWS', 500),
  steps: 10,
  concurrency: 16,
  pool: 20,
};
const chosen = process.env.PEERS_SYSTEMS?.split(',');
const specs = chosen ? systems.filter((s) => chosen.includes(s.name)) : systems;

function runChild(spec: SystemSpec, place: Place): Promise<SystemRun> {
  const [cmd, args] =
    spec.runtime === 'node22' ? [node22, ['--import', 'tsx']] : [process.execPath, ['--import', 'tsx']];
  const payload = JSON.stringify({ system: spec.name, place, settings });
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, [...args, join(peersDir, 'workload-child.ts'), payload], { maxBuffer: 64 << 20, timeout: 15 * 60_000 }, (err, stdout) => {
      if (err) return reject(new Error(`${spec.name} failed: ${err.message.split('\n')[0]}`));
      const line = stdout.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line ?? '') as SystemRun);
      } catch {
        reject(new Error(`${spec.name}: no result line in its output`));
      }
    });
    child.stderr?.pipe(process.stderr);
  });
}

async function runOnce(spec: SystemSpec): Promise<SystemRun> {
  await adminQuery(ADMIN_URL, 'CHECKPOINT');
  if (spec.embedded) {
    const dir = mkdtempSync(join(tmpdir(), 'aries-bench-peers-'));
    try {
      return await runChild(spec, { databaseUrl: '', dataDir: join(dir, 'data') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const db = await createServerDatabase(ADMIN_URL, spec.name.replace(/-/g, '_'));
  try {
    return await runChild(spec, { databaseUrl: db.url });
  } finally {
    await db.drop();
  }
}

async function pgbenchRound(): Promise<{ c8: number | undefined; c16: number | undefined }> {
  const db = await createServerDatabase(ADMIN_URL, 'pgbench');
  try {
    await adminQuery(db.url, 'CREATE TABLE bench_commits (id bigserial PRIMARY KEY, v int NOT NULL)');
    const c8 = await measurePgbench(db.url, 8, PGBENCH_SECONDS);
    const c16 = await measurePgbench(db.url, 16, PGBENCH_SECONDS);
    console.error(`  pgbench 1-row INSERT: ${fmt(c8)} commits/s at 8 clients, ${fmt(c16)} at 16`);
    return { c8, c16 };
  } finally {
    await db.drop();
  }
}

const median = (xs: number[]) => (xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);

const runs = new Map<string, SystemRun[]>(specs.map((s) => [s.name, []]));
const failures = new Map<string, string>();
const pgbench: { c8: number[]; c16: number[] } = { c8: [], c16: [] };
for (let round = 1; round <= ROUNDS; round++) {
  console.error(`round ${round} of ${ROUNDS}`);
  for (const spec of specs) {
    if (failures.has(spec.name)) continue;
    try {
      runs.get(spec.name)!.push(await runOnce(spec));
    } catch (err) {
      failures.set(spec.name, (err as Error).message);
      console.error(`  ${(err as Error).message}`);
    }
  }
  const p = await pgbenchRound();
  if (p.c8 !== undefined) pgbench.c8.push(p.c8);
  if (p.c16 !== undefined) pgbench.c16.push(p.c16);
}

const medians: Medians[] = specs.map((spec) => {
  const rs = runs.get(spec.name)!;
  if (rs.length === 0) return { spec, run: undefined, failure: failures.get(spec.name) ?? 'no round finished' };
  const m = (pick: (r: SystemRun) => number | undefined) => median(rs.map(pick).filter((v): v is number => v !== undefined));
  return {
    spec,
    run: {
      system: spec.name,
      enqueuePerSecond: m((r) => r.enqueuePerSecond)!,
      jobsPerSecond: m((r) => r.jobsPerSecond)!,
      pickupP50: m((r) => r.pickupP50)!,
      pickupP99: m((r) => r.pickupP99)!,
      visibleP50: m((r) => r.visibleP50)!,
      stepsPerSecond: m((r) => r.stepsPerSecond),
    },
  };
});
const baseline = { c8: median(pgbench.c8), c16: median(pgbench.c16) };
const tables = comparisonTables(medians, baseline);

const postgres = (await adminQuery<{ v: string }>(ADMIN_URL, 'SELECT version() AS v'))[0]?.v.split(' on ')[0];
const code = codeInfo();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const header = [
  ...describeMachine(machineInfo({ postgres })),
  `Peers under Node.js 22 (${node22.split('/node_modules/')[1]}); Aries under the repository's Node.js`,
  describeCode(code),
  `Command: npm run bench:peers (rounds ${ROUNDS}, jobs ${fmt(settings.jobs)}, latency probes ${settings.latencySamples}, ` +
    `workflows ${fmt(settings.workflows)} × ${settings.steps} steps, concurrency ${settings.concurrency}, pool ${settings.pool}, ` +
    `pgbench ${PGBENCH_SECONDS} s per client count); synchronous_commit as the server has it (on)`,
  `Date: ${date}`,
];
console.log(['', ...header, '', ...tables.map((t) => `${textTable(t)}\n`)].join('\n'));

const bars = (pick: (r: SystemRun) => number | undefined) =>
  medians.map((m) => ({ label: m.spec.label, value: m.run ? pick(m.run) : undefined, aries: m.spec.name.startsWith('aries') }));
const svg = chartSvg(`Aries beside its peers on one PostgreSQL 15 server (${date.slice(0, 10)}, medians of ${ROUNDS})`, `npm run bench:peers · ${header[0]!.replace('Machine: ', '')} · commit ${code.commit}`, [
  { title: 'durable steps/s, 10-step workflows (higher is better; n/a: no durable steps)', bars: bars((r) => r.stepsPerSecond), format: (v) => fmt(v) },
  { title: `jobs/s: ${fmt(settings.jobs)} one-step jobs enqueued first, then drained (higher is better)`, bars: bars((r) => r.jobsPerSecond), format: (v) => fmt(v) },
  { title: 'starts/s: the enqueue alone (higher is better)', bars: bars((r) => r.enqueuePerSecond), format: (v) => fmt(v) },
  { title: 'idle pickup p50, enqueue → handler start (lower is better)', bars: bars((r) => r.pickupP50), format: (v) => `${fmt(v, 2)} ms` },
  { title: 'completion visible in the database p50 (lower is better)', bars: bars((r) => r.visibleP50), format: (v) => `${fmt(v, 2)} ms` },
]);

if (process.env.BENCH_WRITE_RESULTS !== '0') {
  writeFileSync(join(peersDir, 'results.svg'), svg);
  mkdirSync(join(peersDir, '..', '..', 'docs', 'images'), { recursive: true });
  copyFileSync(join(peersDir, 'results.svg'), join(peersDir, '..', '..', 'docs', 'images', 'bench-peers.svg'));
  const body = [`## ${date} — Aries beside its peers, commit ${code.commit}${code.dirty ? ' (dirty)' : ''}`, '', ...header.map((h) => `- ${h}`), '', ...tables.map(markdownTable).join('\n\n').split('\n')].join('\n');
  writeResults(join(peersDir, 'RESULTS.md'), code, body, `peers ${date}`);
  console.error(`recorded in ${join(peersDir, 'RESULTS.md')}, chart in ${join(peersDir, 'results.svg')} and docs/images/bench-peers.svg`);
}
