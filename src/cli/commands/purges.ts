/** `aries purges`: the audit records `aries purge` left, newest first (engine.admin.listPurges). */
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { positiveInt } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries purges [options]

Lists the audit records of purged executions, newest first: which execution, its workflow and the
status it had, who purged it (the name given and the database user), when, why, and how many rows
went with it.

Options:
  --execution ID   only the records of this execution id
  --limit N        at most N records, up to 10000 (default 100)
  --json           print the records as a JSON array
  -h, --help       show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { execution: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, openEngine }) {
    const limit = positiveInt(values.limit, 'limit');
    const engine = await openEngine();
    const purges = await engine.admin.listPurges({ executionId: values.execution, limit: limit ?? 100 });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(purges, null, 2)}\n`);
    } else if (purges.length === 0) {
      process.stdout.write('no purges\n');
    } else {
      process.stdout.write(
        formatTable(
          ['PURGED AT', 'EXECUTION', 'WORKFLOW', 'STATUS', 'BY', 'ROWS', 'REASON'],
          purges.map((p) => [
            formatTime(p.purgedAt),
            p.executionId,
            p.workflow,
            p.status,
            p.purgedBy === p.databaseUser ? p.purgedBy : `${p.purgedBy} (${p.databaseUser})`,
            String(p.removed.executions + p.removed.steps + p.removed.journalRecords + p.removed.checkpoints + p.removed.failures + p.removed.signals + p.removed.waits),
            p.reason ?? '-',
          ]),
        ),
      );
    }
  },
});
