/**
 * /api/executions: list by pages, start (in a queue, delayed or debounced if asked; many at once), read one (with its steps, journal, checkpoints, failures), act on
 * one (cancel, optionally compensating; recover; retry), and put a signal in its mailbox.
 */
import { EXECUTION_STATUSES } from '../../core/execution-states.js';
import { FAILURE_TYPES, type FailureType } from '../../core/failure-classification.js';
import type { Execution, JournalRecord } from '../../db/rows.js';
import { ExecutionNotFoundError, InvalidInputError } from '../../errors.js';
import type { Engine, StartOptions } from '../../sdk/engine.js';
import { TRUNCATE_ABOVE_BYTES } from '../payload-truncation.js';
import { bodyBoolean, bodyNumber, bodyString, optionalBoolean, optionalDate, optionalEnum, optionalInt, optionalString } from '../query-params.js';
import type { Route } from '../route.js';

const JOURNAL_PAGE = 200;

/** How payloads and errors are sent: whole when asked (`?full=true`), else previews above the limit, cut in the database. */
const truncation = (full: boolean) => (full ? {} : { truncateAboveBytes: TRUNCATE_ABOVE_BYTES });

/** The execution row alone (no steps), payloads truncated: what the actions answer with. */
async function readExecution(engine: Engine, id: string): Promise<Execution> {
  const execution = await engine.admin.readExecution(id, truncation(false));
  if (!execution) throw new ExecutionNotFoundError(`execution ${id} not found`);
  return execution;
}

/** At most `limit` records after `afterLsn`, read as one page in the database (never the whole journal). */
async function journalPage(engine: Engine, id: string, afterLsn: number | null, limit: number, full: boolean) {
  const { records, nextAfterLsn } = await engine.admin.readJournal(id, { afterLsn, limit, ...truncation(full) });
  return {
    records: records.map(({ executionLastLsn: _last, ...r }): Omit<JournalRecord, 'executionLastLsn'> => r),
    nextAfterLsn,
  };
}

const START_FIELDS = ['workflow', 'input', 'version', 'idempotencyKey', 'queue', 'queueKey', 'priority', 'delayMs', 'timeoutMs', 'debounce'] as const;

/**
 * A start's options from its body: the version and idempotency key, and where it lands (queue, queue key,
 * priority, delay, debounce). Types are checked here, naming the field; values by engine.start.
 */
function startOptions(body: Record<string, unknown>): StartOptions {
  const options: StartOptions = {
    version: bodyString(body, 'version'),
    idempotencyKey: bodyString(body, 'idempotencyKey'),
    queue: bodyString(body, 'queue'),
    queueKey: bodyString(body, 'queueKey'),
    priority: bodyNumber(body, 'priority'),
    delayMs: bodyNumber(body, 'delayMs'),
    timeoutMs: bodyNumber(body, 'timeoutMs'),
  };
  if (body.debounce !== undefined && body.debounce !== null) {
    if (typeof body.debounce !== 'object' || Array.isArray(body.debounce)) {
      throw new InvalidInputError('debounce must be { key, delayMs, maxDelayMs? }', { field: 'debounce' });
    }
    options.debounce = body.debounce as StartOptions['debounce'];
  }
  return options;
}

const BATCH_FIELDS = ['workflow', 'version', 'inputs', 'idempotencyKeys', 'queue', 'queueKey', 'priority', 'delayMs', 'timeoutMs'] as const;

/** Items a batch start takes in one request (the body's size limit applies too). */
export const MAX_BATCH_ITEMS = 10_000;

export const executionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/executions',
    async handle({ engine, query }) {
      const page = await engine.admin.listExecutions({
        workflow: optionalString(query, 'workflow'),
        status: optionalEnum(query, 'status', EXECUTION_STATUSES),
        createdAfter: optionalDate(query, 'createdAfter'),
        createdBefore: optionalDate(query, 'createdBefore'),
        search: optionalString(query, 'search')?.trim(),
        limit: optionalInt(query, 'limit', 1, 1_000),
        cursor: optionalString(query, 'cursor'),
      });
      return { body: page };
    },
  },
  {
    method: 'POST',
    path: '/api/executions',
    bodyFields: START_FIELDS,
    async handle({ engine, body }) {
      const workflow = bodyString(body, 'workflow');
      if (workflow === undefined || workflow === '') throw new InvalidInputError('workflow (a registered workflow name) is required', { field: 'workflow' });
      const handle = await engine.start(workflow, body.input, startOptions(body));
      const execution = await readExecution(engine, handle.id);
      return { status: handle.created ? 201 : 200, body: { id: handle.id, created: handle.created, debounced: handle.debounced, execution } };
    },
  },
  {
    method: 'POST',
    path: '/api/executions/batch',
    bodyFields: BATCH_FIELDS,
    async handle({ engine, body }) {
      const workflow = bodyString(body, 'workflow');
      if (workflow === undefined || workflow === '') throw new InvalidInputError('workflow (a registered workflow name) is required', { field: 'workflow' });
      const { inputs, idempotencyKeys } = body;
      if (!Array.isArray(inputs)) throw new InvalidInputError('inputs (an array: one input per execution) is required', { field: 'inputs' });
      if (inputs.length > MAX_BATCH_ITEMS) {
        throw new InvalidInputError(`inputs has ${inputs.length} items; a batch takes at most ${MAX_BATCH_ITEMS}`, { field: 'inputs' });
      }
      if (idempotencyKeys !== undefined && !Array.isArray(idempotencyKeys)) {
        throw new InvalidInputError('idempotencyKeys must be an array: one key (or null) per input', { field: 'idempotencyKeys' });
      }
      const { idempotencyKey: _none, debounce: _neither, ...shared } = startOptions(body);
      const handles = await engine.startMany(workflow, inputs as unknown[], {
        ...shared,
        ...(idempotencyKeys === undefined ? {} : { idempotencyKeys: idempotencyKeys as (string | null)[] }),
      });
      const executions = handles.map((h) => ({ id: h.id, created: h.created }));
      return { status: executions.some((e) => e.created) ? 201 : 200, body: { executions } };
    },
  },
  {
    method: 'GET',
    path: '/api/executions/{id}',
    async handle({ engine, params, query }) {
      const full = optionalBoolean(query, 'full') ?? false;
      const detail = await engine.admin.getExecution(params.id!, truncation(full));
      if (!detail) throw new ExecutionNotFoundError(`execution ${params.id} not found`);
      const [checkpoints, { failures }, journal] = await Promise.all([
        engine.admin.listCheckpoints(params.id!),
        engine.admin.listFailures({ executionId: params.id!, limit: 200, ...truncation(full) }),
        journalPage(engine, params.id!, null, JOURNAL_PAGE, full),
      ]);
      return {
        body: {
          execution: detail.execution,
          steps: detail.steps,
          children: detail.children,
          signals: detail.signals,
          checkpoints,
          failures,
          journal,
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/api/executions/{id}/journal',
    async handle({ engine, params, query }) {
      await readExecution(engine, params.id!);
      const afterLsn = optionalInt(query, 'afterLsn', 0, Number.MAX_SAFE_INTEGER) ?? null;
      const limit = optionalInt(query, 'limit', 1, 1_000) ?? JOURNAL_PAGE;
      return { body: await journalPage(engine, params.id!, afterLsn, limit, optionalBoolean(query, 'full') ?? false) };
    },
  },
  {
    method: 'POST',
    path: '/api/executions/{id}/cancel',
    bodyFields: ['reason', 'compensate'],
    async handle({ engine, params, body }) {
      const { previousStatus } = await engine.admin.cancel(params.id!, {
        reason: bodyString(body, 'reason'),
        compensate: bodyBoolean(body, 'compensate') ?? false,
      });
      return { body: { previousStatus, execution: await readExecution(engine, params.id!) } };
    },
  },
  {
    method: 'POST',
    path: '/api/executions/{id}/signals',
    bodyFields: ['name', 'payload', 'idempotencyKey'],
    async handle({ engine, params, body }) {
      const name = bodyString(body, 'name');
      if (name === undefined || name === '') throw new InvalidInputError('name (the signal name, a non-empty string) is required', { field: 'name' });
      const idempotencyKey = bodyString(body, 'idempotencyKey');
      if (idempotencyKey === '') throw new InvalidInputError('idempotencyKey must not be empty (leave it out for none)', { field: 'idempotencyKey' });
      const { signalId, duplicate } = await engine.signal(params.id!, name, body.payload, { idempotencyKey });
      return { status: duplicate ? 200 : 201, body: { signalId, duplicate } };
    },
  },
  {
    method: 'POST',
    path: '/api/executions/{id}/recover',
    bodyFields: ['type'],
    async handle({ engine, params, body }) {
      const type = bodyString(body, 'type')?.toUpperCase();
      if (type !== undefined && !(FAILURE_TYPES as readonly string[]).includes(type)) {
        throw new InvalidInputError(`type must be one of ${FAILURE_TYPES.join(', ')}; got "${type}"`, { field: 'type' });
      }
      await readExecution(engine, params.id!);
      const { checkpointId } = await engine.admin.recover(params.id!, type as FailureType | undefined);
      return { body: { checkpointId, execution: await readExecution(engine, params.id!) } };
    },
  },
  {
    method: 'POST',
    path: '/api/executions/{id}/retry',
    async handle({ engine, params }) {
      const { checkpointId, previousStatus } = await engine.admin.retry(params.id!);
      return { body: { checkpointId, previousStatus, execution: await readExecution(engine, params.id!) } };
    },
  },
];
