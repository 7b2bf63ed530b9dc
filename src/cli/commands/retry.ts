/**
 * `aries retry <execution-id>`: run it again now (engine.admin.retry). An execution waiting for a retry timer
 * becomes due at once; a FAILED one is recovered as `aries recover` does. The engine refuses an execution
 * that is finished (ILLEGAL_TRANSITION) or that a worker is running (EXECUTION_BUSY).
 */
import { CONNECTION_USAGE } from '../connection-args.js';
import { failureToRecover, reportRecovery } from '../recovery-report.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries retry <execution-id> [options]

Runs an execution again now. One waiting for a retry timer (a step, or a compensation, that failed
TRANSIENTLY) becomes due at once; a FAILED one is recovered from its newest failure, as "aries recover"
does. A finished execution (COMPLETED, COMPENSATED, CANCELLED) or one a worker is running is refused.

Options:
  --json       print {id, checkpointId, failure, previousStatus, status} as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { json: { type: 'boolean' } },
  positionals: ['execution-id'],
  async run({ values, positionals: [id], openEngine }) {
    const engine = await openEngine();
    // Read before retrying, to be reported: retrying marks it recovered.
    const failure = await failureToRecover(engine, id);
    const { checkpointId, previousStatus } = await engine.admin.retry(id);
    await reportRecovery(engine, { id, checkpointId, failure, previousStatus }, values.json ?? false);
  },
});
