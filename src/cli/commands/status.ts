/** `aries status <execution-id>`: one execution and its steps. */
import type { Execution, Step } from '../../db/rows.js';
import { ExecutionNotFoundError } from '../../errors.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatFields, formatTable, formatTime, formatValue, truncate } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries status <execution-id> [options]

Shows an execution (workflow, status, timestamps, output or error) and its steps.

Options:
  --json       print {execution, steps} as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

function describeError(error: { name?: string; message?: string } | null): string {
  return error ? `${error.name ?? 'Error'}: ${error.message ?? ''}` : '-';
}

function formatExecution(e: Execution): string {
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
  if (e.leaseOwner !== null) fields.push(['lease', `${e.leaseOwner} until ${formatTime(e.leaseExpiresAt)}`]);
  fields.push(['input', formatValue(e.input, 100)]);
  if (e.status === 'COMPLETED') fields.push(['output', formatValue(e.output, 100)]);
  if (e.error) fields.push(['error', describeError(e.error)]);
  return formatFields(fields);
}

function formatSteps(steps: Step[]): string {
  if (steps.length === 0) return 'no steps yet\n';
  return formatTable(
    ['SEQ', 'KEY', 'STATUS', 'ATTEMPT', 'OUTPUT'],
    steps.map((s) => [
      String(s.seq),
      s.key,
      s.status,
      String(s.attempt),
      s.error ? truncate(describeError(s.error), 60) : formatValue(s.output),
    ]),
  );
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
        : `${formatExecution(detail.execution)}\n${formatSteps(detail.steps)}`,
    );
  },
});
