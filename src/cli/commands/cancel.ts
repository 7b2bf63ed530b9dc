/**
 * `aries cancel <execution-id>`: cancels an execution that is not finished (engine.admin.cancel). No step starts
 * after it; a worker running it is fenced off; compensations do not run. Prints the status before and
 * after. A finished execution is ILLEGAL_TRANSITION, an unknown one EXECUTION_NOT_FOUND (exit 1).
 */
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatFields } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries cancel <execution-id> [options]

Cancels an execution that is not finished: no step of it starts after this returns, a worker running it
is stopped at its next write, and its compensations do not run. A FAILED execution can be cancelled (it
is then no longer recovered); a finished one (COMPLETED, COMPENSATED, CANCELLED) cannot.

Options:
  --reason TEXT   why, recorded in its journal and as its error (default: "cancelled by an operator")
  --json          print {id, previousStatus, status} as JSON
  -h, --help      show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { reason: { type: 'string' }, json: { type: 'boolean' } },
  positionals: ['execution-id'],
  async run({ values, positionals: [id], openEngine }) {
    const engine = await openEngine();
    const { previousStatus } = await engine.admin.cancel(id, values.reason);
    const status = (await engine.admin.readExecution(id))?.status ?? 'CANCELLED';
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ id, previousStatus, status })}\n`);
      return;
    }
    process.stdout.write(`cancelled execution ${id}\n${formatFields([['status', `${previousStatus} -> ${status}`]])}`);
  },
});
