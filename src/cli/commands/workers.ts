/** `aries workers`: the workers holding leases now, what they hold and when their leases end. */
import { CONNECTION_USAGE, connectionFrom, openEngine } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { expectPositionals, parseCommandArgs } from '../parse-command-args.js';

export const usage = `Usage: aries workers [options]

Lists the workers holding leases on executions now: how many each holds (and how many of those are
compensating), and when their leases end. A lease past its end belongs to a worker presumed dead: another
worker resumes its executions. Workers keep no record of their own, so an idle worker is not listed.

Options:
  --json       print the workers as a JSON array
  -h, --help   show this help

${CONNECTION_USAGE}
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, usage);
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  expectPositionals(positionals, [], usage);
  const engine = await openEngine(connectionFrom(values), 'connect');
  try {
    const workers = await engine.listWorkers();
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
    return 0;
  } finally {
    await engine.close();
  }
}
