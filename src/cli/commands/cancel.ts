/**
 * `aries cancel <execution-id>`: cancels an execution that is not finished (engine.admin.cancel). No step starts
 * after it; a worker running it is fenced off; a sleeping or waiting one ends at once. Without --compensate
 * compensations do not run and it ends CANCELLED; with it, it becomes COMPENSATING and a worker runs the
 * compensations of its completed steps in reverse order, then it is COMPENSATED. Prints the status before and
 * after. A finished execution is ILLEGAL_TRANSITION, an unknown one EXECUTION_NOT_FOUND (exit 1).
 */
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatFields } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries cancel <execution-id> [options]

Cancels an execution that is not finished: no step of it starts after this returns, a worker running it
is stopped at its next write, and a SLEEPING or WAITING one ends at once. Its unfinished children are
cancelled with it (unless started with parentClose 'abandon'). A FAILED execution can be cancelled (it
is then no longer recovered); a finished one (COMPLETED, COMPENSATED, CANCELLED) cannot.

Without --compensate its compensations do not run and it ends CANCELLED. With --compensate it becomes
COMPENSATING: a worker runs the compensations of its completed steps in reverse order and it ends
COMPENSATED, the cancellation recorded as its failure (a PENDING one has nothing to undo and is simply
cancelled).

Options:
  --reason TEXT   why, recorded in its journal and as its error (default: "cancelled by an operator")
  --compensate    undo its completed steps (their compensations, in reverse order) instead of leaving them
  --json          print {id, previousStatus, status} as JSON
  -h, --help      show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { reason: { type: 'string' }, compensate: { type: 'boolean' }, json: { type: 'boolean' } },
  positionals: ['execution-id'],
  async run({ values, positionals: [id], openEngine }) {
    const engine = await openEngine();
    const { previousStatus } = await engine.admin.cancel(id, { reason: values.reason, compensate: values.compensate ?? false });
    const status = (await engine.admin.readExecution(id))?.status ?? 'CANCELLED';
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ id, previousStatus, status })}\n`);
      return;
    }
    const fields: [string, string][] = [['status', `${previousStatus} -> ${status}`]];
    if (status === 'COMPENSATING') fields.push(['next', 'a worker runs its compensations in reverse order; then it is COMPENSATED']);
    process.stdout.write(`cancelled execution ${id}\n${formatFields(fields)}`);
  },
});
