/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on anything a
 * Prometheus server would refuse (a malformed line, a bad escape, a sample before its TYPE, a family split
 * in two, a repeated HELP, TYPE or series) and on a histogram whose buckets are not cumulative, lack +Inf,
 * or disagree with _count.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  helps: Map<string, string>;
  /** The value of the one sample with exactly these labels; throws if there is none. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every sample of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: string): number {
  // As Prometheus reads them (Go's ParseFloat): any case, so prom-client's "Nan" is NaN.
  if (/^\+?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : `\\${c}`));
}

/** Parses `{a="x",b="y"}` starting at `i` (at the brace); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`label ${name} repeated in: ${line}`);
    if (line[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = line[j + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`bad escape \\${e} in: ${line}`);
        j += 2;
      } else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
}

/** The family a sample belongs to: a histogram's _bucket, _sum and _count belong to its base name. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return name;
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

function matches(s: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => s.labels[k] === v);
}

export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const closed = new Set<string>(); // families whose block has ended: none may reappear
  const seen = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, line: string) => {
    if (family === current) return;
    if (closed.has(family)) throw new Error(`family ${family} is split in two blocks at: ${line}`);
    if (current !== undefined) closed.add(current);
    current = family;
  };

  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      enter(name, line);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest));
      } else {
        if (types.has(name)) throw new Error(`second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (samples.some((s) => familyOf(s.name, new Map([[name, rest]])) === name)) throw new Error(`TYPE after samples of ${name}`);
        types.set(name, rest);
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
    if (line[i] !== ' ') throw new Error(`expected a space before the value in: ${line}`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error(`bad value in: ${line}`);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1]!)) throw new Error(`bad timestamp in: ${line}`);
    const value = parseValue(parts[0]!, line);
    const family = familyOf(name, types);
    enter(family, line);
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw new Error(`series repeated: ${line}`);
    seen.add(key);
    const type = types.get(family);
    if (type === 'counter' && !(value >= 0)) throw new Error(`a counter is negative or NaN: ${line}`);
    if (type === 'histogram' && name === `${family}_bucket` && !('le' in labels)) throw new Error(`bucket without le: ${line}`);
    samples.push({ name, labels, value });
  }

  checkHistograms(samples, types);

  const find = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => s.name === name && matches(s, labels));
  return {
    samples,
    types,
    helps,
    find,
    value(name, labels = {}) {
      const exact = find(name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
      if (exact.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${exact.length}`);
      return exact[0]!.value;
    },
  };
}

function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, { buckets: { le: number; v: number }[]; count?: number; sum?: number }>();
    const group = (labels: Record<string, string>) => {
      const { le: _le, ...rest } = labels;
      const k = seriesKey('', rest);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { buckets: [] }));
      return g;
    };
    for (const s of samples) {
      if (s.name === `${family}_bucket`) group(s.labels).buckets.push({ le: parseValue(s.labels.le!, s.labels.le!), v: s.value });
      else if (s.name === `${family}_count`) group(s.labels).count = s.value;
      else if (s.name === `${family}_sum`) group(s.labels).sum = s.value;
    }
    for (const [k, g] of groups) {
      const where = `${family}${k}`;
      if (g.count === undefined || g.sum === undefined) throw new Error(`${where}: _count or _sum missing`);
      for (let i = 1; i < g.buckets.length; i++) {
        if (!(g.buckets[i]!.le > g.buckets[i - 1]!.le)) throw new Error(`${where}: buckets not in increasing le order`);
        if (g.buckets[i]!.v < g.buckets[i - 1]!.v) throw new Error(`${where}: buckets not cumulative`);
      }
      const last = g.buckets[g.buckets.length - 1];
      if (!last || last.le !== Infinity) throw new Error(`${where}: no +Inf bucket`);
      if (last.v !== g.count) throw new Error(`${where}: the +Inf bucket (${last.v}) is not _count (${g.count})`);
    }
  }
}
