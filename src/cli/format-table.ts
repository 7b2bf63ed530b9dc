/** Plain-text output for people: aligned columns, one-line values, timestamps. --json is for programs. */

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** A stored value on one line: JSON, with `-` for nothing. */
export function formatValue(value: unknown, max = 60): string {
  if (value === undefined || value === null) return '-';
  return truncate(JSON.stringify(value) ?? String(value), max);
}

export function formatTime(date: Date | null): string {
  return date === null ? '-' : date.toISOString();
}

/** Key/value lines with the keys aligned. */
export function formatFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

const DURATION_UNITS: [string, number][] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];

/** Milliseconds in the largest unit that divides them evenly (the form the CLI takes: 10s, 1m, 30d), else ms. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  const unit = DURATION_UNITS.find(([, size]) => ms >= size && ms % size === 0);
  return unit ? `${ms / unit[1]}${unit[0]}` : `${ms}ms`;
}
