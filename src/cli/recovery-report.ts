/**
 * What `aries recover <id>` and `aries retry <id>` print after recovering one execution: the failure it
 * recovered from (as recorded before recovery), and the status before and after, in one headline worded
 * by the state the execution was in.
 */
import type { FailureType } from '../core/failure-classification.js';
import type { Execution, Failure } from '../db/rows.js';
import { isUuid } from '../db/executions.js';
import type { Engine } from '../sdk/engine.js';
import { formatFields, formatTime } from './format-table.js';

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

/**
 * The newest unrecovered failure (of `type`, if given) that recovery would start from, read only to be
 * reported: recover_from_failure decides alone. Null for an id that is not an execution's.
 */
export async function failureToRecover(engine: Engine, id: string, type?: FailureType): Promise<Failure | null> {
  if (!isUuid(id)) return null;
  const { failures } = await engine.admin.listFailures({ executionId: id, unrecoveredOnly: true, type, limit: 1 });
  return failures[0] ?? null;
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

/** Reads the status after recovery and prints the outcome (as JSON, or as a headline and fields). */
export async function reportRecovery(
  engine: Engine,
  recovered: Omit<RecoveryOutcome, 'status'>,
  json: boolean,
): Promise<void> {
  const after = await engine.admin.getExecution(recovered.id);
  const outcome: RecoveryOutcome = { ...recovered, status: after?.execution.status ?? recovered.previousStatus };
  if (json) {
    process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    return;
  }
  const fields: [string, string][] = [];
  if (outcome.failure) fields.push(['failure', describeFailure(outcome.failure)]);
  fields.push(['status', `${outcome.previousStatus} -> ${outcome.status}`]);
  process.stdout.write(`${headline(outcome)}\n${formatFields(fields)}`);
}
