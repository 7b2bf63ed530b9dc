/** `aries failures`: recorded failures, newest first, optionally of one execution or only unrecovered ones. */
import type { Failure } from '../../db/rows.js';
import { ExecutionNotFoundError } from '../../errors.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatTable, formatTime, truncate } from '../format-table.js';
import { positiveInt } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries failures [options]

Lists recorded failures, newest first: each error classified TRANSIENT, PERMANENT or PARTIAL, where it
came from (node, network, data, step), how it is recovered (retry, rollback, compensate, none) and
whether it was. A type marked * is a TRANSIENT error whose retries ran out. "aries recover" recovers an
execution from its newest unrecovered failure.

Options:
  --execution ID   only the failures of this execution
  --unrecovered    only failures not yet recovered
  --limit N        at most N failures, up to 1000 (default 100)
  --json           print the failures as a JSON array
  -h, --help       show this help

${CONNECTION_USAGE}
`;

const RETRIES_EXHAUSTED = '*';

function formatFailures(failures: Failure[]): string {
  const table = formatTable(
    ['TIME', 'EXECUTION', 'TYPE', 'SOURCE', 'STRATEGY', 'RECOVERED', 'STEP', 'ATTEMPT', 'MESSAGE'],
    failures.map((f) => [
      formatTime(f.at),
      f.executionId,
      f.retriesExhausted ? `${f.type}${RETRIES_EXHAUSTED}` : f.type,
      f.source,
      f.recoveryStrategy,
      f.recovered ? `yes (${f.recoveredBy ?? '?'})` : 'no',
      f.stepKey ?? '-',
      f.attempt === null ? '-' : String(f.attempt),
      truncate(f.errorClass ? `${f.errorClass}: ${f.message}` : f.message, 60),
    ]),
  );
  const legend = failures.some((f) => f.retriesExhausted) ? `${RETRIES_EXHAUSTED} retries exhausted\n` : '';
  return table + legend;
}

export default defineCommand({
  usage,
  options: { execution: { type: 'string' }, unrecovered: { type: 'boolean' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, openEngine }) {
    const limit = positiveInt(values.limit, 'limit');
    const executionId = values.execution;
    const engine = await openEngine();
    // An execution that does not exist is an error, not an empty list that reads as "nothing failed".
    if (executionId !== undefined && !(await engine.admin.readExecution(executionId))) {
      throw new ExecutionNotFoundError(`execution ${executionId} not found in ${engine.db.description}`);
    }
    const { failures } = await engine.admin.listFailures({ executionId, unrecoveredOnly: values.unrecovered ?? false, limit: limit ?? 100 });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(failures, null, 2)}\n`);
    } else if (failures.length === 0) {
      process.stdout.write(values.unrecovered ? 'no unrecovered failures\n' : 'no failures\n');
    } else {
      process.stdout.write(formatFailures(failures));
    }
  },
});
