/**
 * `aries purge <execution-id>`: deletes an execution and everything that belongs to it, with its children
 * (engine.admin.purge), leaving an audit record (`aries purges` lists them). For a secret that must not
 * stay in the journal. A busy execution is EXECUTION_ACTIVE, a child PURGE_REFUSED, an unknown one
 * EXECUTION_NOT_FOUND (exit 1).
 */
import { userInfo } from 'node:os';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatFields, formatTime } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries purge <execution-id> [options]

Deletes an execution and everything that belongs to it: its journal, steps, waits, checkpoints,
failures, signals and kept idempotency key, with its whole tree of children. What is left is an audit
record of who purged it, why and when (aries purges). This cannot be undone.

Only an execution at rest is purged: COMPLETED, COMPENSATED, CANCELLED or FAILED, and its children too.
A PENDING, RUNNING, SLEEPING, WAITING or COMPENSATING one is refused: cancel it first (aries cancel). A
child is purged with its tree: name its top-level execution.

Options:
  --reason TEXT   why, kept in the audit record
  --by NAME       who purges, kept in the audit record (default: the operating-system user)
  --json          print the audit record as JSON
  -h, --help      show this help

${CONNECTION_USAGE}
`;

/** The OS user, or a stand-in when the process has none (a container's numeric uid). */
function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

export default defineCommand({
  usage,
  options: { reason: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' } },
  positionals: ['execution-id'],
  async run({ values, positionals: [id], openEngine }) {
    const engine = await openEngine();
    const record = await engine.admin.purge(id, { by: values.by ?? osUser(), reason: values.reason });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      return;
    }
    const r = record.removed;
    process.stdout.write(
      `purged execution ${id}\n` +
        formatFields([
          ['workflow', `${record.workflow}@${record.version}`],
          ['status', record.status],
          ['purged by', `${record.purgedBy} (database user ${record.databaseUser})`],
          ['purged at', formatTime(record.purgedAt)],
          ['reason', record.reason ?? '-'],
          [
            'removed',
            `${r.executions} execution(s), ${r.steps} step(s), ${r.journalRecords} journal record(s), ${r.checkpoints} checkpoint(s), ` +
              `${r.failures} failure(s), ${r.signals} signal(s), ${r.waits} wait(s)`,
          ],
        ]),
    );
  },
});
