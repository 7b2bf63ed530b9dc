/**
 * A small metrics registry: counters, gauges and histograms with labels, rendered in the Prometheus text
 * exposition format 0.0.4. Pure: no I/O, no clock, no dependencies.
 *
 * Model
 *   family   one metric name with its help text, type and label names; rendered as one # HELP and one
 *            # TYPE line followed by its series. A family with labels has no series until one is used;
 *            one without labels always has its single series (a counter reads 0 before anything happens).
 *   series   one combination of label values (`family.labels(...values)`), created once and cached. Hot
 *            paths keep the series object and call inc()/observe() on it: no strings built per event.
 *   render   families in registration order, series in the order they were first used.
 *
 * Values are what this process saw since the registry was created: Prometheus scrapes every process and
 * sums across them (rate(), sum by()), so counters are never shared or persisted.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus's default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type MetricType = 'counter' | 'gauge' | 'histogram';

export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** A label value in the exposition format: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline escaped (a double quote is literal there). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

abstract class Family<Series> {
  private readonly series = new Map<string, { pairs: string; series: Series }>();
  private unlabelled: Series | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new RangeError(`invalid metric name "${name}"`);
    const seen = new Set<string>();
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new RangeError(`metric ${name}: invalid label name "${l}"`);
      if (seen.has(l)) throw new RangeError(`metric ${name}: label "${l}" given twice`);
      seen.add(l);
    }
  }

  protected abstract create(): Series;
  protected abstract renderSeries(out: string[], pairs: string, series: Series): void;

  /** The series of these label values (in the order of labelNames), created on first use. */
  labels(...values: string[]): Series {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(`metric ${this.name} takes ${this.labelNames.length} label value(s) (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    const key = values.length === 1 ? values[0]! : JSON.stringify(values);
    let entry = this.series.get(key);
    if (!entry) {
      const pairs = this.labelNames.map((l, i) => `${l}="${escapeLabelValue(String(values[i]))}"`).join(',');
      entry = { pairs, series: this.create() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  /** The single series of a family without labels. */
  protected get only(): Series {
    if (this.labelNames.length > 0) throw new RangeError(`metric ${this.name} has labels: use .labels(...)`);
    return (this.unlabelled ??= this.labels());
  }

  /** Drops every series (a family without labels is back to zero). */
  reset(): void {
    this.series.clear();
    this.unlabelled = undefined;
  }

  render(out: string[]): void {
    if (this.labelNames.length === 0) this.unlabelled ??= this.labels(); // always rendered, 0 at first
    if (this.series.size === 0) return; // a labelled family nothing used yet: no samples, no lines
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { pairs, series } of this.series.values()) this.renderSeries(out, pairs, series);
  }
}

const braces = (pairs: string) => (pairs === '' ? '' : `{${pairs}}`);

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    if (!(by >= 0)) throw new RangeError(`a counter only goes up: inc(${by})`);
    this.value += by;
  }
}

export class Counter extends Family<CounterSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    if (!name.endsWith('_total')) throw new RangeError(`counter ${name}: a counter's name ends in _total`);
    super(name, help, 'counter', labelNames);
  }
  protected create(): CounterSeries {
    return new CounterSeries();
  }
  inc(by = 1): void {
    this.only.inc(by);
  }
  get value(): number {
    return this.only.value;
  }
  protected renderSeries(out: string[], pairs: string, s: CounterSeries): void {
    out.push(`${this.name}${braces(pairs)} ${formatValue(s.value)}`);
  }
}

export class GaugeSeries {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class Gauge extends Family<GaugeSeries> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'gauge', labelNames);
  }
  protected create(): GaugeSeries {
    return new GaugeSeries();
  }
  set(v: number): void {
    this.only.set(v);
  }
  inc(by = 1): void {
    this.only.inc(by);
  }
  dec(by = 1): void {
    this.only.dec(by);
  }
  get value(): number {
    return this.only.value;
  }
  protected renderSeries(out: string[], pairs: string, s: GaugeSeries): void {
    out.push(`${this.name}${braces(pairs)} ${formatValue(s.value)}`);
  }
}

export class HistogramSeries {
  /** Per bucket, not cumulative (the last is +Inf); made cumulative when rendered. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(v: number): void {
    if (Number.isNaN(v)) return; // would poison the sum and belongs to no bucket
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class Histogram extends Family<HistogramSeries> {
  readonly buckets: readonly number[];
  private readonly leLabels: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS) {
    if (labelNames.includes('le')) throw new RangeError(`histogram ${name}: "le" is reserved for buckets`);
    if (buckets.length === 0) throw new RangeError(`histogram ${name} needs at least one bucket`);
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
        throw new RangeError(`histogram ${name}: buckets must be finite and strictly increasing (+Inf is implied)`);
      }
    }
    super(name, help, 'histogram', labelNames);
    this.buckets = [...buckets];
    this.leLabels = [...this.buckets.map(formatValue), '+Inf'].map((le) => `le="${le}"`);
  }
  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
  observe(v: number): void {
    this.only.observe(v);
  }
  protected renderSeries(out: string[], pairs: string, s: HistogramSeries): void {
    const sep = pairs === '' ? '' : ',';
    let cumulative = 0;
    for (let i = 0; i < s.counts.length; i++) {
      cumulative += s.counts[i]!;
      out.push(`${this.name}_bucket{${pairs}${sep}${this.leLabels[i]!}} ${cumulative}`);
    }
    out.push(`${this.name}_sum${braces(pairs)} ${formatValue(s.sum)}`, `${this.name}_count${braces(pairs)} ${s.count}`);
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family<unknown>>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  private add<F extends Family<unknown>>(family: F): F {
    if (this.families.has(family.name)) throw new RangeError(`metric ${family.name} is registered twice`);
    this.families.set(family.name, family);
    return family;
  }

  /** The exposition text: every family with at least one series, ending in a newline (or empty). */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) f.render(out);
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}
