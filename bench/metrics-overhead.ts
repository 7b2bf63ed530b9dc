/**
 * What the metrics cost a step: the increments a worker makes per step attempt (attempts counter, duration
 * histogram, active-executions gauge up and down) through the registry, in nanoseconds, A/B against a
 * second registry module when one is given (e.g. an older version saved to a file), alternating rounds.
 * Usage: tsx bench/metrics-overhead.ts [path/to/other-metrics-registry.ts]
 */
import { MetricsRegistry } from '../src/core/metrics-registry.js';

interface RegistryLike {
  counter(name: string, help: string, labels?: readonly string[]): { labels(...v: string[]): { inc(by?: number): void } };
  histogram(name: string, help: string, labels?: readonly string[]): { labels(...v: string[]): { observe(v: number): void } };
  gauge(name: string, help: string): { inc(by?: number): void; dec(by?: number): void };
}

const STEPS = 1_000_000;

function nsPerStep(make: () => RegistryLike): number {
  const r = make();
  const attempts = r.counter('aries_step_attempts_total', 'x', ['workflow', 'step_type']).labels('order', 'step');
  const duration = r.histogram('aries_step_duration_seconds', 'x', ['workflow']).labels('order');
  const active = r.gauge('aries_worker_active_executions', 'x');
  const started = process.hrtime.bigint();
  for (let i = 0; i < STEPS; i++) {
    active.inc();
    attempts.inc();
    duration.observe((i % 100) / 1000);
    active.dec();
  }
  return Number(process.hrtime.bigint() - started) / STEPS;
}

const other = process.argv[2];
const candidates: [string, () => RegistryLike][] = [['prom-client registry (current)', () => new MetricsRegistry()]];
if (other) {
  const mod = (await import(other)) as { MetricsRegistry: new () => RegistryLike };
  candidates.push([`other (${other})`, () => new mod.MetricsRegistry()]);
}
const results = new Map<string, number[]>(candidates.map(([name]) => [name, []]));
for (let round = 0; round < 5; round++) {
  for (const [name, make] of candidates) results.get(name)!.push(nsPerStep(make));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of results) console.log(`${name}: ${median(xs).toFixed(0)} ns per step (median of ${xs.length})`);
if (other) {
  const [a, b] = [...results.values()].map(median);
  console.log(`current ÷ other: ${(a! / b!).toFixed(2)}×`);
}
