/** `aries workers`: the registered workers, idle ones included, whether each is live, and what it holds. */
import type { WorkerInfo } from '../../db/workers.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries workers [options]

Lists the workers: every worker that registered (idle ones too) with its status, workflows, concurrency
and last heartbeat, and the leases it holds now (executions, compensating, expired, when they end).
A worker heartbeats every third of its lease length, leases held or not, on the database clock:
  live      heartbeating
  stale     no heartbeat for three lease lengths: the process died or is cut off; its leases expire
            and other workers resume its executions
  stopped   it stopped cleanly
Stopped and stale workers are forgotten after an hour.

Options:
  --json       print the workers as a JSON array
  -h, --help   show this help

${CONNECTION_USAGE}
`;

function leasesEnd(w: WorkerInfo): string {
  if (w.executions === 0) return '-';
  return w.executions === 1 ? formatTime(w.earliestLeaseExpiry) : `${formatTime(w.earliestLeaseExpiry)} … ${formatTime(w.latestLeaseExpiry)}`;
}

export default defineCommand({
  usage,
  options: { json: { type: 'boolean' } },
  async run({ values, openEngine }) {
    const engine = await openEngine();
    const workers = await engine.admin.listWorkers();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(workers, null, 2)}\n`);
    } else if (workers.length === 0) {
      process.stdout.write('no worker has registered\n');
    } else {
      process.stdout.write(
        formatTable(
          ['WORKER', 'STATUS', 'WORKFLOWS', 'CONCURRENCY', 'HEARTBEAT', 'EXECUTIONS', 'COMPENSATING', 'EXPIRED', 'LEASES END'],
          workers.map((w) => [
            w.worker,
            w.status,
            w.workflows.length === 0 ? '-' : w.workflows.join(','),
            w.concurrency === null ? '-' : String(w.concurrency),
            formatTime(w.heartbeatAt),
            String(w.executions),
            String(w.compensating),
            String(w.expired),
            leasesEnd(w),
          ]),
        ),
      );
    }
  },
});
