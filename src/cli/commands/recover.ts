/**
 * `aries recover <execution-id>`: recovers an execution from its newest unrecovered failure
 * (aries.recover_from_failure). A FAILED execution resumes from its last valid checkpoint (the steps
 * after it run again, with a fresh retry budget), a failed compensation resumes compensating, and a retry
 * waiting for its timer runs now. `aries retry` shares the reporting below.
 */
import { FAILURE_TYPES, type FailureType } from '../../core/failure-classification.js';
import type { Execution, Failure } from '../../db/rows.js';
import type { Engine, ExecutionDetail } from '../../sdk/engine.js';
import { ExecutionNotFoundError } from '../../errors.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE, connectionFrom, openEngine } from '../connection-args.js';
import { formatFields, formatTime } from '../format-table.js';
import { expectPositionals, parseCommandArgs } from '../parse-command-args.js';

export const usage = `Usage: aries recover <execution-id> [options]

Recovers an execution from its newest unrecovered failure ("aries failures" lists them); fix the cause
first. A FAILED execution resumes from its last valid checkpoint: a worker runs the steps after it again,
with a fresh retry budget, and the steps before it are not run again. A FAILED execution whose
compensation failed resumes compensating. An execution waiting for a retry timer runs now.

Options:
  --type T     recover from the newest unrecovered failure of this type (${FAILURE_TYPES.join(', ')})
  --json       print {id, checkpointId, failure, previousStatus, status} as JSON
  -h, --help   show this help

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

/** The execution, or EXECUTION_NOT_FOUND worded as `aries status` words it. */
export async function findExecution(engine: Engine, id: string): Promise<ExecutionDetail> {
  const detail = await engine.getExecution(id);
  if (!detail) throw new ExecutionNotFoundError(`execution ${id} not found in ${engine.db.description}`);
  return detail;
}

export interface RecoveryOutcome {
  id: string;
  /** The checkpoint the execution continues from (null: its start). */
  checkpointId: string | null;
  /** The failure recovered from, as it was recorded before recovery. */
  failure: Failure | null;
  previousStatus: Execution['status'];
  /** Read back after recovery: a worker may already have claimed (or even finished) the execution. */
  status: Execution['status'];
}

function describeFailure(f: Failure): string {
  const where = f.stepKey === null ? `(${f.source})` : `at step "${f.stepKey}"${f.attempt === null ? '' : ` attempt ${f.attempt}`}`;
  const exhausted = f.retriesExhausted ? ', retries exhausted' : '';
  return `${f.type} (${f.recoveryStrategy}${exhausted}) ${where}: ${f.errorClass ? `${f.errorClass}: ` : ''}${f.message}`;
}

function retryAt(f: Failure): string | undefined {
  const at = (f.details as { retry_at?: unknown } | null)?.retry_at;
  return typeof at === 'string' ? formatTime(new Date(at)) : undefined;
}

/** One line saying what recovery did, by the state the execution was in. */
function headline(o: RecoveryOutcome): string {
  const f = o.failure;
  if (o.previousStatus === 'FAILED' && f?.recoveryStrategy === 'compensate') {
    return `recovered execution ${o.id}: its compensation resumes`;
  }
  if (o.previousStatus === 'FAILED') {
    return `recovered execution ${o.id} from ${o.checkpointId === null ? 'its start' : `checkpoint ${o.checkpointId}`}`;
  }
  const what = o.previousStatus === 'COMPENSATING' ? 'a compensation' : 'a step';
  const step = f?.stepKey ? `${what === 'a step' ? 'step' : 'the compensation of step'} "${f.stepKey}"` : what;
  const due = f ? retryAt(f) : undefined;
  return `execution ${o.id} was waiting to retry ${step}${due ? ` at ${due}` : ''}; it is due now`;
}

/**
 * Recovers `detail`'s execution from its newest unrecovered failure (of `type`, if given) and prints what
 * happened. The failure is read first only to report it; recover_from_failure decides alone.
 */
export async function recoverAndReport(
  engine: Engine,
  detail: ExecutionDetail,
  type: FailureType | undefined,
  json: boolean,
): Promise<void> {
  const { id } = detail.execution;
  const unrecovered = await engine.listFailures({ executionId: id, unrecoveredOnly: true });
  const failure = unrecovered.find((f) => type === undefined || f.type === type) ?? null;
  const { checkpointId } = await engine.recover(id, type);
  const after = await engine.getExecution(id);
  const outcome: RecoveryOutcome = {
    id,
    checkpointId,
    failure,
    previousStatus: detail.execution.status,
    status: after?.execution.status ?? detail.execution.status,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    return;
  }
  const fields: [string, string][] = [];
  if (failure) fields.push(['failure', describeFailure(failure)]);
  fields.push(['status', `${outcome.previousStatus} -> ${outcome.status}`]);
  process.stdout.write(`${headline(outcome)}\n${formatFields(fields)}`);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { type: { type: 'string' }, json: { type: 'boolean' } }, usage);
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [id] = expectPositionals(positionals, ['execution-id'], usage) as [string];
  const type = parseType(values.type);
  const engine = await openEngine(connectionFrom(values), 'connect');
  try {
    await recoverAndReport(engine, await findExecution(engine, id), type, values.json ?? false);
    return 0;
  } finally {
    await engine.close();
  }
}
