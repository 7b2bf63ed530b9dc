/**
 * `aries recover <execution-id>`: recovers an execution from its newest unrecovered failure
 * (aries.recover_from_failure). A FAILED execution resumes from its last valid checkpoint (the steps
 * after it run again, with a fresh retry budget), a failed compensation resumes compensating, and a retry
 * waiting for its timer runs now. `aries recover --all` does it for every FAILED execution (recover-all.ts).
 */
import { FAILURE_TYPES, type FailureType } from '../../core/failure-classification.js';
import { ExecutionNotFoundError } from '../../errors.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { expectPositionals } from '../parse-command-args.js';
import { formatBulkRecovery, recoverAll } from '../recover-all.js';
import { failureToRecover, reportRecovery } from '../recovery-report.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries recover <execution-id> [options]
       aries recover --all [--workflow W] [options]

Recovers an execution from its newest unrecovered failure ("aries failures" lists them); fix the cause
first. A FAILED execution resumes from its last valid checkpoint: a worker runs the steps after it again,
with a fresh retry budget, and the steps before it are not run again. A FAILED execution whose
compensation failed resumes compensating. An execution waiting for a retry timer runs now.

With --all, every FAILED execution (of workflow W) is recovered in turn, with progress on stderr
("recovering 12/40…") and a summary at the end. An execution recovery refuses (no unrecovered failure,
a worker holds it) is counted and skipped, and the exit code stays 0; the summary lists them.

Options:
  --type T       recover from the newest unrecovered failure of this type (${FAILURE_TYPES.join(', ')})
  --all          recover every FAILED execution
  --workflow W   with --all: only executions of this workflow (by name)
  --json         print {id, checkpointId, failure, previousStatus, status} as JSON; with --all,
                 {total, recovered: [{id, checkpointId}], refused: [{id, code, message}]}
  -h, --help     show this help

${CONNECTION_USAGE}
`;

function parseType(value: string | undefined): FailureType | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!(FAILURE_TYPES as readonly string[]).includes(upper)) {
    throw new UsageError(`--type must be one of ${FAILURE_TYPES.join(', ')}; got "${value}"`, usage);
  }
  return upper as FailureType;
}

export default defineCommand({
  usage,
  options: { type: { type: 'string' }, all: { type: 'boolean' }, workflow: { type: 'string' }, json: { type: 'boolean' } },
  positionals: 'any',
  async run({ values, positionals, openEngine }) {
    const [id] = expectPositionals(positionals, values.all ? [] : ['execution-id'], usage);
    if (values.workflow !== undefined && !values.all) throw new UsageError('--workflow needs --all', usage);
    const type = parseType(values.type);
    const engine = await openEngine();

    if (id === undefined) {
      const result = await recoverAll(engine, { workflow: values.workflow, type });
      process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatBulkRecovery(result));
      return;
    }
    const execution = await engine.admin.readExecution(id);
    if (!execution) throw new ExecutionNotFoundError(`execution ${id} not found in ${engine.db.description}`);
    const failure = await failureToRecover(engine, id, type);
    const { checkpointId } = await engine.admin.recover(id, type);
    await reportRecovery(engine, { id, checkpointId, failure, previousStatus: execution.status }, values.json ?? false);
  },
});
