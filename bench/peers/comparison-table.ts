/**
 * The comparison's tables from the medians of one run: the ratios first (Aries on the server against the
 * best peer in the same run, and durable steps/s against pgbench's 1-row INSERT commits/s), then every
 * system's raw medians with the settings it ran with.
 */
import { fmt, type Table } from '../report.js';
import type { SystemRun } from './adapter.js';
import type { SystemSpec } from './systems.js';

export interface Medians {
  spec: SystemSpec;
  run: SystemRun | undefined;
  /** Why the system has no figures (it could not be run). */
  failure?: string;
}

const ms = (v: number) => `${fmt(v, 2)} ms`;

function best(peers: Medians[], pick: (r: SystemRun) => number | undefined, lowerIsBetter = false) {
  let found: { label: string; value: number } | undefined;
  for (const p of peers) {
    const v = p.run ? pick(p.run) : undefined;
    if (v === undefined) continue;
    if (!found || (lowerIsBetter ? v < found.value : v > found.value)) found = { label: p.spec.label, value: v };
  }
  return found;
}

export function comparisonTables(all: Medians[], pgbench: { c8: number | undefined; c16: number | undefined }): Table[] {
  const aries = all.find((m) => m.spec.name === 'aries-server')?.run;
  const embedded = all.find((m) => m.spec.name === 'aries-embedded')?.run;
  const peers = all.filter((m) => !m.spec.name.startsWith('aries'));
  const rows: string[][] = [];
  const higher = (name: string, pick: (r: SystemRun) => number | undefined) => {
    const b = best(peers, pick);
    const a = aries ? pick(aries) : undefined;
    rows.push([
      name,
      fmt(a),
      b ? `${b.label}: ${fmt(b.value)}` : 'n/a',
      a !== undefined && b ? `${(a / b.value).toFixed(2)}×` : 'n/a',
    ]);
  };
  const lower = (name: string, pick: (r: SystemRun) => number) => {
    const b = best(peers, pick, true);
    const a = aries ? pick(aries) : undefined;
    rows.push([
      name,
      a !== undefined ? ms(a) : 'n/a',
      b ? `${b.label}: ${ms(b.value)}` : 'n/a',
      a !== undefined && b ? `${(a / b.value).toFixed(2)}× the best peer's` : 'n/a',
    ]);
  };
  higher('durable steps/s (10-step workflows)', (r) => r.stepsPerSecond);
  higher('1-step executions (jobs)/s, all enqueued first', (r) => r.jobsPerSecond);
  higher('starts/s (enqueue alone)', (r) => r.enqueuePerSecond);
  lower('idle pickup p50 (enqueue → handler start)', (r) => r.pickupP50);
  lower('idle pickup p99', (r) => r.pickupP99);
  lower('completion visible in the database, p50', (r) => r.visibleP50);
  for (const [clients, tps] of [[16, pgbench.c16], [8, pgbench.c8]] as const) {
    rows.push([
      `durable steps/s ÷ pgbench 1-row INSERT commits/s (${clients} clients)`,
      `${fmt(aries?.stepsPerSecond)} ÷ ${fmt(tps)}`,
      '—',
      aries?.stepsPerSecond !== undefined && tps ? (aries.stepsPerSecond / tps).toFixed(2) : 'n/a',
    ]);
  }
  rows.push([
    'embedded PGlite steps/s ÷ server steps/s',
    `${fmt(embedded?.stepsPerSecond)} ÷ ${fmt(aries?.stepsPerSecond)}`,
    '—',
    embedded?.stepsPerSecond !== undefined && aries?.stepsPerSecond ? (embedded.stepsPerSecond / aries.stepsPerSecond).toFixed(2) : 'n/a',
  ]);
  const ratios: Table = {
    title: 'Aries (server) beside the best peer in the same run (ratio > 1× is faster for rates; < 1× is faster for latencies)',
    head: ['workload', 'Aries (server)', 'best peer', 'ratio'],
    rows,
  };
  const raw: Table = {
    title: 'Every system, medians of the rounds',
    head: ['system', 'starts/s', 'jobs/s', 'pickup p50', 'pickup p99', 'visible p50', 'durable steps/s'],
    rows: all.map((m) =>
      m.run
        ? [
            m.spec.label,
            fmt(m.run.enqueuePerSecond),
            fmt(m.run.jobsPerSecond),
            ms(m.run.pickupP50),
            ms(m.run.pickupP99),
            ms(m.run.visibleP50),
            m.run.stepsPerSecond === undefined ? 'n/a (no durable steps)' : fmt(m.run.stepsPerSecond),
          ]
        : [m.spec.label, `could not run: ${m.failure ?? 'unknown'}`, '', '', '', '', ''],
    ),
    notes: [
      `pgbench 1-row INSERT commits/s on its own database: ${fmt(pgbench.c8)} at 8 clients, ${fmt(pgbench.c16)} at 16 clients`,
      ...all.map((m) => `${m.spec.label}: ${m.spec.settings}`),
    ],
  };
  return [ratios, raw];
}
