/**
 * `npm run bench:peers`'s report: the ratios against the best peer of the same run (highest rate, lowest
 * latency), "n/a" where a system has no durable steps, and the chart's bars as SVG.
 */
import { describe, expect, it } from 'vitest';
import type { SystemRun } from '../../bench/peers/adapter.js';
import { comparisonTables, type Medians } from '../../bench/peers/comparison-table.js';
import { chartSvg } from '../../bench/peers/svg-chart.js';
import { systems } from '../../bench/peers/systems.js';

const spec = (name: string) => systems.find((s) => s.name === name)!;
const run = (system: string, r: Partial<SystemRun>): SystemRun => ({
  system,
  enqueuePerSecond: 1_000,
  jobsPerSecond: 1_000,
  pickupP50: 10,
  pickupP99: 20,
  visibleP50: 15,
  stepsPerSecond: undefined,
  ...r,
});

const medians: Medians[] = [
  { spec: spec('aries-server'), run: run('aries-server', { stepsPerSecond: 3_000, jobsPerSecond: 500, pickupP50: 4 }) },
  { spec: spec('aries-embedded'), run: run('aries-embedded', { stepsPerSecond: 1_500 }) },
  { spec: spec('pg-boss'), run: run('pg-boss', { jobsPerSecond: 2_000, pickupP50: 8 }) },
  { spec: spec('graphile-worker'), run: run('graphile-worker', { jobsPerSecond: 1_500, pickupP50: 5 }) },
  { spec: spec('dbos'), run: undefined, failure: 'dbos failed: boom' },
];

describe('bench:peers comparison table', () => {
  const [ratios, raw] = comparisonTables(medians, { c8: 4_000, c16: 6_000 });
  const row = (name: string) => ratios!.rows.find((r) => r[0]!.startsWith(name))!;

  it('compares Aries with the fastest peer for rates and the quickest for latencies', () => {
    expect(row('1-step executions')).toEqual(['1-step executions (jobs)/s, all enqueued first', '500', 'pg-boss 12.38.0: 2,000', '0.25×']);
    expect(row('idle pickup p50')[2]).toBe('graphile-worker 0.18.0: 5.00 ms');
    expect(row('idle pickup p50')[3]).toBe("0.80× the best peer's");
  });

  it('says n/a where no peer has durable steps, and divides by the INSERT baseline and the server rate', () => {
    expect(row('durable steps/s (10-step')[2]).toBe('n/a');
    expect(row('durable steps/s ÷ pgbench 1-row INSERT commits/s (16')[3]).toBe('0.50');
    expect(row('durable steps/s ÷ pgbench 1-row INSERT commits/s (8')[3]).toBe('0.75');
    expect(row('embedded PGlite')[3]).toBe('0.50');
  });

  it('lists every system, saying why one could not run', () => {
    expect(raw!.rows.find((r) => r[0] === 'pg-boss 12.38.0')![6]).toBe('n/a (no durable steps)');
    expect(raw!.rows.find((r) => r[0] === 'DBOS 5.3.0')![1]).toBe('could not run: dbos failed: boom');
  });
});

describe('bench:peers chart', () => {
  it('draws one bar per measured system, scaled to the panel’s largest, and n/a for the rest', () => {
    const svg = chartSvg('t <&>', 's', [
      {
        title: 'steps',
        format: (v) => String(v),
        bars: [
          { label: 'Aries', value: 200, aries: true },
          { label: 'peer', value: 100, aries: false },
          { label: 'none', value: undefined, aries: false },
        ],
      },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('t &lt;&amp;&gt;');
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(widths[0]! / widths[1]!).toBeCloseTo(2, 5);
    expect(svg).toContain('>n/a</text>');
  });
});
