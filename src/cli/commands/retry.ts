/**
 * `aries retry <execution-id>`: run it again now. An execution waiting for a retry timer becomes due at
 * once; a FAILED one is recovered as `aries recover` does. Refused for an execution that is finished
 * (COMPLETED, COMPENSATED, CANCELLED) or that a worker is running.
 */
import { TERMINAL_STATUSES } from '../../core/execution-states.js';
import { ExecutionBusyError, InvalidInputError } from '../../errors.js';
import { CONNECTION_USAGE, connectionFrom, openEngine } from '../connection-args.js';
import { expectPositionals, parseCommandArgs } from '../parse-command-args.js';
import { findExecution, recoverAndReport } from './recover.js';

export const usage = `Usage: aries retry <execution-id> [options]

Runs an execution again now. One waiting for a retry timer (a step, or a compensation, that failed
TRANSIENTLY) becomes due at once; a FAILED one is recovered from its newest failure, as "aries recover"
does. A finished execution (COMPLETED, COMPENSATED, CANCELLED) or one a worker is running is refused.

Options:
  --json       print {id, checkpointId, failure, previousStatus, status} as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, usage);
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [id] = expectPositionals(positionals, ['execution-id'], usage) as [string];
  const engine = await openEngine(connectionFrom(values), 'connect');
  try {
    const detail = await findExecution(engine, id);
    const { status } = detail.execution;
    if (TERMINAL_STATUSES.has(status)) {
      throw new InvalidInputError(`execution ${id} is ${status}: it is finished, there is nothing to retry`, { status });
    }
    // recover_from_failure refuses a leased execution too, but reports a missing failure first, which
    // reads as the wrong reason for one that is simply running.
    if (status === 'RUNNING') {
      throw new ExecutionBusyError(`execution ${id} is RUNNING under a worker's lease: it is being run, there is nothing to retry now`);
    }
    await recoverAndReport(engine, detail, undefined, values.json ?? false);
    return 0;
  } finally {
    await engine.close();
  }
}
