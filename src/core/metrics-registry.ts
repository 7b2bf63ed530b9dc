/**
 * The metrics registry: counters, gauges and histograms with labels, on prom-client (the Node.js
 * ecosystem's standard), rendered in the Prometheus text exposition format 0.0.4. This layer adds what
 * Aries's metrics rely on: a counter's name ends in _total; a series is resolved once per label values and
 * kept by hot paths (a step costs an increment, no label object built); NaN observations are dropped.
 *
 * The process's own metrics (CPU, resident memory, heap, GC, event-loop lag, open handles: prom-client's
 * default metrics) live in one registry per process, started the first time they are rendered, since they
 * describe the process and not any one engine in it.
 *
 * Values are what this process saw since the registry was created: Prometheus scrapes every process and
 * sums across them (rate(), sum by()), so counters are never shared or persisted.
 */
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from 'prom-client';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Prometheus's default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface CounterSeries {
  inc(by?: number): void;
}

export interface GaugeSeries {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
}

export interface HistogramSeries {
  observe(value: number): void;
}

abstract class Family<Series> {
  private readonly series = new Map<string, Series>();
  private unlabelled: Series | undefined;

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract create(values: string[]): Series;

  /** The series of these label values (in the order of labelNames), created on first use and kept. */
  labels(...values: string[]): Series {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(`metric ${this.name} takes ${this.labelNames.length} label value(s) (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    const key = values.length === 1 ? values[0]! : JSON.stringify(values);
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.create(values);
      this.series.set(key, series);
    }
    return series;
  }

  /** The single series of a family without labels. */
  protected get only(): Series {
    if (this.labelNames.length > 0) throw new RangeError(`metric ${this.name} has labels: use .labels(...)`);
    return (this.unlabelled ??= this.create([]));
  }
}

export class Counter extends Family<CounterSeries> {
  private readonly metric: PromCounter;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    if (!name.endsWith('_total')) throw new RangeError(`counter ${name}: a counter's name ends in _total`);
    super(name, labelNames);
    this.metric = new PromCounter({ name, help, labelNames: [...labelNames], registers: [registry] });
  }

  protected create(values: string[]): CounterSeries {
    const target = values.length === 0 ? this.metric : this.metric.labels(...values);
    target.inc(0); // a series reads 0 from its first use, not only after its first event
    const name = this.name;
    return {
      inc(by = 1) {
        if (!(by >= 0)) throw new RangeError(`counter ${name} only goes up: inc(${by})`);
        target.inc(by);
      },
    };
  }

  inc(by = 1): void {
    this.only.inc(by);
  }
}

export class Gauge extends Family<GaugeSeries> {
  private readonly metric: PromGauge;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    super(name, labelNames);
    this.metric = new PromGauge({ name, help, labelNames: [...labelNames], registers: [registry] });
  }

  protected create(values: string[]): GaugeSeries {
    const target = values.length === 0 ? this.metric : this.metric.labels(...values);
    return {
      set: (value) => target.set(value),
      inc: (by = 1) => target.inc(by),
      dec: (by = 1) => target.dec(by),
    };
  }

  set(value: number): void {
    this.only.set(value);
  }
  inc(by = 1): void {
    this.only.inc(by);
  }
  dec(by = 1): void {
    this.only.dec(by);
  }
}

export class Histogram extends Family<HistogramSeries> {
  readonly buckets: readonly number[];
  private readonly metric: PromHistogram;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    if (labelNames.includes('le')) throw new RangeError(`histogram ${name}: "le" is reserved for buckets`);
    if (buckets.length === 0) throw new RangeError(`histogram ${name} needs at least one bucket`);
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
        throw new RangeError(`histogram ${name}: buckets must be finite and strictly increasing (+Inf is implied)`);
      }
    }
    super(name, labelNames);
    this.buckets = [...buckets];
    this.metric = new PromHistogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [registry] });
  }

  protected create(values: string[]): HistogramSeries {
    const target = values.length === 0 ? this.metric : this.metric.labels(...values);
    if (values.length > 0) this.metric.zero(Object.fromEntries(this.labelNames.map((l, i) => [l, values[i]!])));
    return {
      observe(value) {
        if (!Number.isNaN(value)) target.observe(value); // NaN would poison the sum and belongs to no bucket
      },
    };
  }

  observe(value: number): void {
    this.only.observe(value);
  }
}

export class MetricsRegistry {
  private readonly registry = new Registry();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter(this.registry, name, help, labelNames);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return new Gauge(this.registry, name, help, labelNames);
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    return new Histogram(this.registry, name, help, labelNames, buckets);
  }

  /** The exposition text of every family registered here (a labelled one nothing used yet has no samples). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

let processRegistry: Registry | undefined;

/** The process's own metrics (prom-client's defaults), started on first use, one set per process. */
export function renderProcessMetrics(): Promise<string> {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry.metrics();
}
