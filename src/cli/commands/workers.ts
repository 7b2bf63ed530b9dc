/** `aries workers`: the workers holding leases now, what they hold and when their leases end. */
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries workers [options]

Lists the workers holding leases on executions now: how many each holds (and how many of those are
compensating), and when their leases end. A lease past its end belongs to a worker presumed dead: another
worker resumes its executions. Workers keep no record of their own, so an idle worker is not listed.

Options:
  --json       print the workers as a JSON array
  -h, --help   show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { json: { type: 'boolean' } },
  async run({ values, openEngine }) {
    const engine = await openEngine();
    const workers = await engine.admin.listWorkers();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(workers, null, 2)}\n`);
    } else if (workers.length === 0) {
      process.stdout.write('no worker holds a lease\n');
    } else {
      process.stdout.write(
        formatTable(
          ['WORKER', 'EXECUTIONS', 'COMPENSATING', 'EXPIRED', 'LEASES END'],
          workers.map((w) => [
            w.worker,
            String(w.executions),
            String(w.compensating),
            String(w.expired),
            w.executions === 1 ? formatTime(w.earliestLeaseExpiry) : `${formatTime(w.earliestLeaseExpiry)} … ${formatTime(w.latestLeaseExpiry)}`,
          ]),
        ),
      );
    }
  },
});
