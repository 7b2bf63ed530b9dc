/** `aries list`: recent executions, newest first, optionally filtered by status and workflow. */
import { EXECUTION_STATUSES, isExecutionStatus, type ExecutionStatus } from '../../core/execution-states.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE, connectionFrom, openEngine } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { expectPositionals, parseCommandArgs, positiveInt } from '../parse-command-args.js';

export const usage = `Usage: aries list [options]

Lists executions, newest first.

Options:
  --status S     only executions in this status (${EXECUTION_STATUSES.join(', ')})
  --workflow W   only executions of this workflow (by name)
  --limit N      at most N executions (default 100)
  --json         print the executions as a JSON array
  -h, --help     show this help

${CONNECTION_USAGE}
`;

function parseStatus(value: string | undefined): ExecutionStatus | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!isExecutionStatus(upper)) {
    throw new UsageError(`--status must be one of ${EXECUTION_STATUSES.join(', ')}; got "${value}"`, usage);
  }
  return upper;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { status: { type: 'string' }, workflow: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    usage,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  expectPositionals(positionals, [], usage);
  const status = parseStatus(values.status);
  const limit = positiveInt(values.limit, 'limit');
  const engine = await openEngine(connectionFrom(values), 'connect');
  try {
    const { executions } = await engine.listExecutions({ status, workflow: values.workflow, limit });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(executions, null, 2)}\n`);
    } else if (executions.length === 0) {
      process.stdout.write('no executions\n');
    } else {
      process.stdout.write(
        formatTable(
          ['ID', 'WORKFLOW', 'STATUS', 'STEPS', 'CREATED', 'FINISHED'],
          executions.map((e) => [
            e.id,
            `${e.workflow}@${e.version}`,
            e.status,
            String(e.stepCount),
            formatTime(e.createdAt),
            formatTime(e.finishedAt),
          ]),
        ),
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}
