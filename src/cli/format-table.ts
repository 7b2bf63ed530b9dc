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
