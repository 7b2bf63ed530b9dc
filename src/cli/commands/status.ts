/**
 * `aries status <execution-id>`: one execution and its steps; for a SLEEPING or WAITING one, what each open
 * wait waits for; for a child its parent, for a parent its children; its mailbox when it has signals. A
 * SUB_COMMITTED execution shows its output, as a COMPLETED one does.
 */
import type { ChildExecution } from '../../db/executions.js';
import type { Execution, Step } from '../../db/rows.js';
import type { MailboxSignal } from '../../db/signals.js';
import { ExecutionNotFoundError } from '../../errors.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { describeWait, openWaits } from '../describe-wait.js';
import { formatFields, formatTable, formatTime, formatValue, truncate } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries status <execution-id> [options]

Shows an execution (workflow, status, timestamps, output or error) and its steps; once compensations
ran, a COMPENSATION column marks each step compensated (COMPENSATED), being compensated, or whose
compensation failed or waits to retry. A SLEEPING or WAITING execution shows what it waits for (a
sleep until when, a signal by name, a child by id, and when each times out); a child shows its parent,
a parent its children, and an execution with signals its mailbox (each signal with the wait that took it).

Options:
  --json       print {execution, steps, children, signals} as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

function describeError(error: { name?: string; message?: string } | null): string {
  return error ? `${error.name ?? 'Error'}: ${error.message ?? ''}` : '-';
}

/** SUB_COMMITTED: a child that completed while its parent has not; it has its output. */
const HAS_OUTPUT = new Set(['COMPLETED', 'SUB_COMMITTED']);

function formatExecution(e: Execution, steps: Step[]): string {
  const fields: [string, string][] = [
    ['execution', e.id],
    ['workflow', `${e.workflow}@${e.version}`],
    ['status', e.status],
    ['created', formatTime(e.createdAt)],
    ['started', formatTime(e.startedAt)],
    ['finished', formatTime(e.finishedAt)],
    ['updated', formatTime(e.updatedAt)],
    ['claims', String(e.claimCount)],
  ];
  if (e.idempotencyKey !== null) fields.push(['idempotency key', e.idempotencyKey]);
  if (e.parent !== null) fields.push(['parent', `${e.parent.id} (step "${e.parent.stepKey}", parentClose ${e.parent.close})`]);
  if (e.deadlineAt !== null) fields.push(['deadline', formatTime(e.deadlineAt)]);
  if (e.leaseOwner !== null) fields.push(['lease', `${e.leaseOwner} until ${formatTime(e.leaseExpiresAt)}`]);
  for (const wait of openWaits(steps)) fields.push(['waiting for', describeWait(wait)]);
  if (e.status === 'SUB_COMMITTED') fields.push(['commits', 'with its parent: COMPLETED when the parent completes, compensated if it is']);
  fields.push(['input', formatValue(e.input, 100)]);
  if (HAS_OUTPUT.has(e.status)) fields.push(['output', formatValue(e.output, 100)]);
  if (e.error) fields.push(['error', describeError(e.error)]);
  return formatFields(fields);
}

/** A step's last cell: its error, its output, or for an open wait what it waits for. */
function stepResult(s: Step): string {
  if (s.error) return truncate(describeError(s.error), 60);
  if (s.wait !== null && s.status === 'WAITING') return `waiting: ${describeWait(s.wait)}`;
  if (s.wait?.kind === 'sleep') return describeWait(s.wait);
  return formatValue(s.output);
}

/** What became of a step's compensation: COMPENSATED once it completed; '-' for a step never undone. */
function compensation(s: Step): string {
  switch (s.compensationStatus) {
    case null:
      return '-';
    case 'COMPLETED':
      return 'COMPENSATED';
    case 'RUNNING':
      return 'COMPENSATING';
    default:
      return `COMPENSATION ${s.compensationStatus}`;
  }
}

/** The steps; a COMPENSATION column when any step's compensation ran (a saga undone, or undoing). */
function formatSteps(steps: Step[]): string {
  if (steps.length === 0) return 'no steps yet\n';
  const undone = steps.some((s) => s.compensationStatus !== null);
  return formatTable(
    ['SEQ', 'KEY', 'STATUS', 'ATTEMPT', ...(undone ? ['COMPENSATION'] : []), 'OUTPUT'],
    steps.map((s) => [String(s.seq), s.key, s.status, String(s.attempt), ...(undone ? [compensation(s)] : []), stepResult(s)]),
  );
}

function formatChildren(children: ChildExecution[]): string {
  if (children.length === 0) return '';
  return `\n${formatTable(
    ['CHILD', 'WORKFLOW', 'STEP', 'STATUS', 'FINISHED'],
    children.map((c) => [c.id, c.workflow, c.stepKey, c.status, formatTime(c.finishedAt)]),
  )}`;
}

function formatMailbox(signals: MailboxSignal[]): string {
  if (signals.length === 0) return '';
  return `\n${formatTable(
    ['SIGNAL', 'NAME', 'SENT', 'TAKEN BY', 'PAYLOAD'],
    signals.map((g) => [g.id, g.name, formatTime(g.sentAt), g.consumedBy ?? '- (in the mailbox)', formatValue(g.payload)]),
  )}`;
}

export default defineCommand({
  usage,
  options: { json: { type: 'boolean' } },
  positionals: ['execution-id'],
  async run({ values, positionals: [id], openEngine }) {
    const engine = await openEngine();
    const detail = await engine.admin.getExecution(id);
    if (!detail) throw new ExecutionNotFoundError(`execution ${id} not found in ${engine.db.description}`);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(detail, null, 2)}\n`
        : `${formatExecution(detail.execution, detail.steps)}\n${formatSteps(detail.steps)}` +
            `${formatChildren(detail.children)}${formatMailbox(detail.signals)}`,
    );
  },
});
