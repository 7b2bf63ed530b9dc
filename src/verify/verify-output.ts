/**
 * What `aries verify` prints: the reference run in one line (its waits and children when it has some), a table of crash cases (crash point → what
 * the recovery did), and a summary line; or, with --json, the same as one JSON object for programs.
 */
import { formatTable, truncate } from '../cli/format-table.js';
import type { ExecutionReport } from './execution-report.js';
import type { Reference } from './judge-recovery.js';
import type { VerifyRow } from './run-case.js';
import type { VerifyResult } from './run-verify.js';

const list = (items: readonly string[]) => (items.length === 0 ? '-' : items.join(','));
const yesNo = (v: boolean | null, no = 'no') => (v === null ? '-' : v ? 'yes' : no);

/** The reference run's children, as `key:STATUS`, theirs after them as `key/key:STATUS`. */
function childList(report: ExecutionReport, prefix = ''): string[] {
  return report.children.flatMap((c) => [`${prefix}${c.stepKey}:${c.status}`, ...childList(c, `${prefix}${c.stepKey}/`)]);
}

export function describeReference(workflow: string, reference: Reference): string {
  const { report, summary } = reference;
  const error = report.error ? ` (${report.error.name}: ${truncate(report.error.message, 80)})` : '';
  // Waits and children only when there are some: a workflow of steps reads as it always did.
  const waits = summary.waitKeys.length > 0 ? `; waits ${list(summary.waitKeys)}` : '';
  const children = report.children.length > 0 ? `; children ${list(childList(report))}` : '';
  return (
    `reference run of ${workflow} (no crash): ${report.status}${error}; ` +
    `steps ${list(summary.stepKeys)}; retried ${list(summary.retriedKeys)}; compensated ${list(summary.compensatedKeys)}${waits}${children}`
  );
}

/** `point:step` of a row, for messages. */
export const caseName = (row: VerifyRow) => (row.step === null ? row.point : `${row.point}:${row.step}`);

export function describeRow(row: VerifyRow): string {
  const verdict = row.valid ? 'valid' : `NOT valid: ${row.problems.join('; ')}`;
  if (!row.reached) return `${caseName(row)}: not reached${row.valid === false ? `; ${verdict}` : row.note ? ` (${row.note})` : ''}`;
  return `${caseName(row)}: reached; recovered ${row.status ?? '-'}; ${verdict}`;
}

export function formatRows(rows: readonly VerifyRow[]): string {
  return formatTable(
    ['POINT', 'STEP', 'REACHED', 'STATUS', 'VALID', 'RE-RUN', 'COMPENSATIONS', 'NOTE'],
    rows.map((r) => [
      r.point,
      r.step ?? '-',
      yesNo(r.reached),
      r.status ?? '-',
      yesNo(r.valid, 'NO'),
      list(r.reruns),
      list(r.compensations),
      truncate(r.problems.length > 0 ? r.problems.join('; ').replace(/\s+/g, ' ') : (r.note ?? ''), 160),
    ]),
  );
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function summaryLine(rows: readonly VerifyRow[]): string {
  const cases = rows.filter((r) => r.step !== null);
  const reached = cases.filter((r) => r.reached);
  const invalid = rows.filter((r) => r.valid === false);
  const unreached = rows.filter((r) => r.step === null).map((r) => r.point);
  const verdict =
    invalid.length > 0
      ? `${invalid.length} NOT valid (${invalid.map(caseName).join(', ')})`
      : reached.length === 0
        ? 'nothing to recover'
        : reached.length === 1
          ? 'the recovery is valid'
          : `all ${reached.length} recoveries valid`;
  const notReached = unreached.length > 0 ? `; no step reached ${unreached.join(', ')}` : '';
  return `${count(cases.length, 'crash case', 'crash cases')}, ${reached.length} reached: ${verdict}${notReached}`;
}

export function formatResult(workflow: string, result: VerifyResult): string {
  return `${describeReference(workflow, result.reference)}\n\n${formatRows(result.rows)}\n${summaryLine(result.rows)}\n`;
}

export function resultJson(workflow: string, result: VerifyResult): string {
  const { report, summary } = result.reference;
  const reference = {
    status: report.status,
    error: report.error ? { name: report.error.name, message: report.error.message } : null,
    steps: summary.stepKeys,
    retried: summary.retriedKeys,
    compensated: summary.compensatedKeys,
    waits: summary.waitKeys,
    children: childList(report),
    signals: report.signals.map((g) => ({ name: g.name, consumedBy: g.consumedBy })),
  };
  return `${JSON.stringify({ workflow, reference, rows: result.rows, valid: result.valid }, null, 2)}\n`;
}
