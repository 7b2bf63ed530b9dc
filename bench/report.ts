/**
 * Presenting a run: aligned tables on the console, and the same figures as a section of
 * bench/RESULTS.md. Sections are keyed by commit: a new run of the same commit replaces its section,
 * any other run is appended, so the file keeps one result per measured commit.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeInfo, MachineInfo } from './machine.js';

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  notes?: string[];
}

export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    t.title,
    line(t.head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map(line),
    ...(t.notes ?? []).map((n) => `  ${n}`),
  ].join('\n');
}

export function markdownTable(t: Table): string {
  return [
    `**${t.title}**`,
    '',
    `| ${t.head.join(' | ')} |`,
    `|${t.head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.join(' | ')} |`),
    ...(t.notes && t.notes.length > 0 ? ['', ...t.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

export function describeMachine(m: MachineInfo): string[] {
  return [
    `Machine: ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB RAM, CPU "${m.cpuModel}"`,
    `Node ${m.node}; PostgreSQL server ${m.postgres ?? 'not measured'}; PGlite ${m.pglite ?? 'unknown'}` +
      (m.pglitePostgres ? ` (embeds PostgreSQL ${m.pglitePostgres})` : ''),
  ];
}

export function describeCode(c: CodeInfo): string {
  if (!c.dirty) return `Commit ${c.commit} (clean tree)`;
  if (c.changedOutsideBench.length === 0) return `Commit ${c.commit} (dirty: only bench/ differs)`;
  const shown = c.changedOutsideBench.slice(0, 8).join(', ');
  const more = c.changedOutsideBench.length > 8 ? `, … ${c.changedOutsideBench.length - 8} more` : '';
  return `Commit ${c.commit} (dirty: uncommitted changes also in ${shown}${more})`;
}

const HEADER = `# Benchmark results

Recorded by \`npm run bench\` (see README.md). One section per measured commit, newest last; a rerun
of the same commit replaces its section. Figures are what was measured, not tuned.
`;

/** `label` keys a benchmark's own section (e.g. 'waits'), so it does not replace `npm run bench`'s section of the same commit. */
export function writeResults(path: string, code: CodeInfo, body: string, label?: string): void {
  const key = `${label ? `${label} ` : ''}${code.commit}${code.dirty ? '-dirty' : ''}`;
  const begin = `<!-- run ${key} -->`;
  const end = `<!-- /run ${key} -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) {
    text = text.slice(0, from) + section + text.slice(to + end.length);
  } else {
    text = `${text.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}

export interface RunReport {
  /** Names the run in its RESULTS.md heading, e.g. 'queues'. */
  title: string;
  /** The key of its RESULTS.md section (see writeResults). */
  label: string;
  date: string;
  code: CodeInfo;
  /** Machine, commit, date, command, sizes: one line each, bulleted in RESULTS.md. */
  header: string[];
  tables: Table[];
  /** Markdown blocks after the tables (e.g. query plans), printed and recorded as they are. */
  extras?: string[];
}

/** Prints a run's header and tables, and (when `record`) writes them as its section of bench/RESULTS.md. */
export function presentRun(run: RunReport, record: boolean, log: (msg: string) => void): void {
  const extras = run.extras ?? [];
  console.log(['', ...run.header, '', ...run.tables.map((t) => `${textTable(t)}\n`), ...extras].join('\n'));
  if (!record) return;
  const path = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  const body = [
    `## ${run.date} — ${run.title}, commit ${run.code.commit}${run.code.dirty ? ' (dirty)' : ''}`,
    '',
    ...run.header.map((h) => `- ${h}`),
    '',
    ...[...run.tables.map(markdownTable), ...extras].join('\n\n').split('\n'),
  ].join('\n');
  writeResults(path, run.code, body, run.label);
  log(`recorded in ${path}`);
}
