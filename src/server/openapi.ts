/**
 * The OpenAPI 3.1 document of the HTTP API, served at /openapi.json. A test holds it to the routes (every
 * route documented, nothing documented that is not served) and validates real responses against its
 * schemas, so it cannot drift from what the server answers. Queues, schedules and retention are described
 * in openapi-flow-control.ts; the shorthands both use are in openapi-parts.ts.
 */
import { EXECUTION_STATUSES, STEP_STATUSES } from '../core/execution-states.js';
import { FAILURE_TYPES } from '../core/failure-classification.js';
import { WORKER_STATUSES } from '../core/worker-statuses.js';
import { flowControlPaths, flowControlSchemas } from './openapi-flow-control.js';
import { purgePaths, purgeSchemas } from './openapi-purges.js';
import { common, errorResponse, forWrites, jsonBody, nullable, object, ok, query, ref, time, type Schema } from './openapi-parts.js';

const storedError = nullable({
  type: 'object',
  properties: {
    name: { type: 'string' },
    message: { type: 'string' },
    $truncated: { type: 'boolean', description: 'A preview: name, code, the first 512 characters of the message; `bytes` is the whole error\'s JSON size (read the execution with full=true).' },
    bytes: { type: 'integer' },
  },
});
/** A payload as stored (any JSON), or the marker that replaces one larger than 16 KiB unless full=true. */
const payload: Schema = { description: 'Any JSON value, or a TruncatedPayload when it is larger than 16 KiB and full=true was not asked.' };

const executionSummaryProperties: Record<string, Schema> = {
  id: { type: 'string', format: 'uuid' },
  workflow: { type: 'string' },
  version: { type: 'string' },
  status: { enum: [...EXECUTION_STATUSES] },
  error: storedError,
  idempotencyKey: nullable({ type: 'string' }),
  leaseOwner: nullable({ type: 'string' }),
  leaseExpiresAt: nullable(time),
  claimCount: { type: 'integer' },
  stepCount: { type: 'integer', description: 'Steps completed so far.' },
  createdAt: time,
  updatedAt: time,
  startedAt: nullable(time),
  finishedAt: nullable(time),
  parent: nullable({
    ...object({ id: { type: 'string', format: 'uuid' }, stepKey: { type: 'string' }, close: { enum: ['cancel', 'abandon'] } }),
    description: 'The execution that started this one with ctx.child, the step key it used, and what cancelling it does to this one.',
  }),
  deadlineAt: { ...nullable(time), description: "The whole execution's deadline (timeoutMs), on the database clock." },
};

const failureProperties: Record<string, Schema> = {
  id: { type: 'string', format: 'uuid' },
  executionId: { type: 'string', format: 'uuid' },
  workflow: { type: 'string' },
  type: { enum: [...FAILURE_TYPES] },
  message: { type: 'string' },
  at: time,
  recoveryStrategy: { enum: ['retry', 'rollback', 'compensate', 'none'] },
  recovered: { type: 'boolean' },
  source: { enum: ['node', 'network', 'data', 'step'] },
  stepKey: nullable({ type: 'string' }),
  attempt: nullable({ type: 'integer' }),
  errorClass: nullable({ type: 'string' }),
  stack: nullable({ type: 'string' }),
  details: {},
  retriesExhausted: { type: 'boolean' },
  checkpointId: nullable({ type: 'string', format: 'uuid' }),
  recoveredAt: nullable(time),
  recoveredBy: nullable({ enum: ['worker', 'operator', 'sweep', 'cancel'] }),
  truncated: {
    type: 'boolean',
    description: 'A preview: its message, stack and details were over the limit, so the first 512 characters of the message and no stack nor details (read the execution with full=true).',
  },
};

const schemas: Record<string, Schema> = {
  ...flowControlSchemas,
  ...purgeSchemas,
  Error: object({
    error: object(
      { code: { type: 'string', description: 'Stable: EXECUTION_NOT_FOUND, ILLEGAL_TRANSITION, INVALID_INPUT, UNAUTHORIZED, …' }, message: { type: 'string' }, details: { type: 'object' } },
      ['code', 'message'],
    ),
  }),
  TruncatedPayload: object({ $truncated: { const: true }, bytes: { type: 'integer' }, preview: { type: 'string' } }),
  ExecutionSummary: object(executionSummaryProperties),
  Execution: object({ ...executionSummaryProperties, input: payload, output: payload }, [...Object.keys(executionSummaryProperties)]),
  Step: object(
    {
      key: { type: 'string' },
      seq: { type: 'integer' },
      kind: { enum: ['step', 'transaction', 'sleep', 'signal', 'child'] },
      status: { enum: [...STEP_STATUSES] },
      attempt: { type: 'integer' },
      output: payload,
      error: storedError,
      startedAt: time,
      completedAt: nullable(time),
      endedAt: { ...nullable(time), description: 'When it stopped, whatever the outcome (a CANCELLED step too; a FAILED one at its step_failed record); null while it runs or waits.' },
      compensationStatus: nullable({ enum: ['RUNNING', 'COMPLETED', 'FAILED', 'RETRYING'] }),
      compensatedAt: { ...nullable(time), description: 'When its compensation completed; null: not compensated.' },
      wait: nullable(ref('StepWait')),
    },
    ['key', 'seq', 'kind', 'status', 'attempt', 'error', 'startedAt', 'completedAt', 'endedAt', 'compensationStatus', 'compensatedAt', 'wait'],
  ),
  StepWait: {
    ...object({
      kind: { enum: ['sleep', 'signal', 'child'] },
      since: { ...time, description: 'When the wait began (database clock).' },
      until: { ...nullable(time), description: 'A sleep: when it wakes.' },
      timeoutAt: { ...nullable(time), description: 'A signal or child wait: when it fails with WAIT_TIMEOUT (null: no timeout).' },
      signal: { ...nullable({ type: 'string' }), description: 'A signal wait: the signal name it takes.' },
      childId: nullable({ type: 'string', format: 'uuid' }),
      childStatus: nullable({ enum: [...EXECUTION_STATUSES] }),
      settledAt: { ...nullable(time), description: 'When it settled or was cancelled (null: open).' },
    }),
    description: 'What a wait (ctx.sleep, ctx.waitForSignal, ctx.child) waits for.',
  },
  ChildExecution: object({
    id: { type: 'string', format: 'uuid' },
    workflow: { type: 'string' },
    status: { enum: [...EXECUTION_STATUSES] },
    stepKey: { type: 'string', description: "The parent's step key that started it." },
    createdAt: time,
    finishedAt: nullable(time),
  }),
  MailboxSignal: object(
    {
      id: { type: 'string', description: 'The order of sending: a wait takes the oldest unconsumed signal of its name.' },
      name: { type: 'string' },
      payload,
      idempotencyKey: nullable({ type: 'string' }),
      sentAt: time,
      consumedBy: { ...nullable({ type: 'string' }), description: 'The step key of the wait that took it; null while it is in the mailbox.' },
      consumedAt: nullable(time),
    },
    ['id', 'name', 'idempotencyKey', 'sentAt', 'consumedBy', 'consumedAt'],
  ),
  JournalRecord: object(
    {
      lsn: { type: 'integer' },
      prevLsn: nullable({ type: 'integer' }),
      kind: { type: 'string' },
      seq: nullable({ type: 'integer' }),
      stepKey: nullable({ type: 'string' }),
      attempt: nullable({ type: 'integer' }),
      payload,
      checksumOk: { type: 'boolean', description: 'The record still matches its checksum.' },
      createdAt: time,
    },
    ['lsn', 'prevLsn', 'kind', 'seq', 'stepKey', 'attempt', 'checksumOk', 'createdAt'],
  ),
  JournalPage: object({ records: { type: 'array', items: ref('JournalRecord') }, nextAfterLsn: nullable({ type: 'integer' }) }),
  Checkpoint: object(
    { id: { type: 'string', format: 'uuid' }, lsn: { type: 'integer' }, at: time, valid: { type: 'boolean' }, stepProgress: {} },
    ['id', 'lsn', 'at', 'valid'],
  ),
  Failure: object(failureProperties, Object.keys(failureProperties).filter((k) => k !== 'details')),
  ExecutionDetail: object({
    execution: ref('Execution'),
    steps: { type: 'array', items: ref('Step') },
    children: { type: 'array', items: ref('ChildExecution'), description: 'Executions it started with ctx.child, in the order started (at most 1,000).' },
    signals: { type: 'array', items: ref('MailboxSignal'), description: 'Its mailbox: the newest 1,000 signals sent to it, oldest first.' },
    checkpoints: { type: 'array', items: ref('Checkpoint') },
    failures: { type: 'array', items: ref('Failure') },
    journal: ref('JournalPage'),
  }),
  ExecutionPage: object({ executions: { type: 'array', items: ref('ExecutionSummary') }, nextCursor: nullable({ type: 'string' }) }),
  FailurePage: object({ failures: { type: 'array', items: ref('Failure') }, nextCursor: nullable({ type: 'string' }) }),
  FailureSummary: object({
    since: time,
    groups: {
      type: 'array',
      items: object({ workflow: { type: 'string' }, type: { enum: [...FAILURE_TYPES] }, count: { type: 'integer' }, unrecovered: { type: 'integer' }, lastAt: time }),
    },
  }),
  Workers: object({
    live: { type: 'integer', description: 'How many workers are live (heartbeating).' },
    workers: {
      type: 'array',
      items: object({
        workerId: { type: 'string' },
        status: {
          enum: [...WORKER_STATUSES],
          description: 'live: heartbeating; stale: no heartbeat for three lease lengths (presumed dead); stopped: stopped cleanly.',
        },
        host: nullable({ type: 'string' }),
        pid: nullable({ type: 'integer' }),
        workflows: { type: 'array', items: { type: 'string' }, description: 'The "name@version" keys it runs.' },
        concurrency: nullable({ type: 'integer' }),
        startedAt: nullable(time),
        heartbeatAt: { ...nullable(time), description: 'Its last heartbeat, on the database clock (null: known only from its leases).' },
        stoppedAt: nullable(time),
        executions: { type: 'integer', description: 'Leases it holds now.' },
        compensating: { type: 'integer' },
        expired: { type: 'integer', description: 'Leases past their expiry: the worker is presumed dead.' },
        earliestLeaseExpiry: nullable(time),
        leaseExpiresAt: nullable(time),
      }),
    },
  }),
  Workflows: object({
    workflows: { type: 'array', items: object({ name: { type: 'string' }, version: { type: 'string' }, registeredAt: time, lastSeenAt: time }) },
  }),
  Stats: object({
    from: time,
    to: time,
    bucketSeconds: { type: 'integer' },
    buckets: {
      type: 'array',
      items: object({
        at: time,
        started: { type: 'integer' },
        completed: { type: 'integer' },
        failed: { type: 'integer' },
        compensated: { type: 'integer' },
        cancelled: { type: 'integer' },
        failures: object(Object.fromEntries(FAILURE_TYPES.map((t) => [t, { type: 'integer' }]))),
      }),
    },
    statusCounts: { type: 'object', additionalProperties: { type: 'integer' } },
    queueDepth: { type: 'integer' },
  }),
  Health: object({ ok: { const: true }, backend: { enum: ['pglite', 'postgres'] }, version: { type: 'string' }, auth: { type: 'boolean' } }),
  ActionResult: object(
    {
      execution: ref('Execution'),
      checkpointId: nullable({ type: 'string', format: 'uuid' }),
      previousStatus: { enum: [...EXECUTION_STATUSES] },
    },
    ['execution'],
  ),
  Started: object({
    id: { type: 'string', format: 'uuid' },
    created: { type: 'boolean' },
    debounced: { type: 'boolean', description: 'A debounced start gave its input to the PENDING execution under its key (created is false).' },
    execution: ref('Execution'),
  }),
  StartedMany: object({
    executions: {
      type: 'array',
      items: object({ id: { type: 'string', format: 'uuid' }, created: { type: 'boolean' } }),
      description: 'One per input, in order.',
    },
  }),
  SignalSent: object({
    signalId: { type: 'string', description: "The signal's id in the mailbox (the order of sending); for a duplicate, the signal first sent under that idempotency key." },
    duplicate: { type: 'boolean', description: 'The idempotency key was used already: nothing new was stored.' },
  }),
};

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The execution id (a UUID).' };
const limit = query('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Rows per page (default 50).');
const cursor = query('cursor', { type: 'string' }, 'nextCursor of the previous page.');
const full = query('full', { type: 'boolean' }, 'Send payloads larger than 16 KiB whole instead of truncated.');

const paths: Record<string, Record<string, Schema>> = {
  ...flowControlPaths,
  ...purgePaths,
  '/api/executions': {
    get: {
      summary: 'List executions, newest first, by pages (keyset: every page costs the same at any table size)',
      operationId: 'listExecutions',
      parameters: [
        query('workflow', { type: 'string' }, 'Only this workflow (by name).'),
        query('status', { enum: [...EXECUTION_STATUSES] }, 'Only this status.'),
        query('createdAfter', time, 'Created at or after.'),
        query('createdBefore', time, 'Created before.'),
        query('search', { type: 'string' }, 'An execution id or an exact idempotency key.'),
        limit,
        cursor,
      ],
      responses: { '200': ok('ExecutionPage'), ...common },
    },
    post: {
      summary: 'Start an execution of a registered workflow',
      operationId: 'startExecution',
      requestBody: jsonBody(
        object(
          {
            workflow: { type: 'string' },
            input: {},
            version: { type: 'string' },
            idempotencyKey: { type: 'string' },
            timeoutMs: { type: 'number', exclusiveMinimum: 0, description: "The whole execution's deadline from now." },
            queue: { type: 'string', description: "The queue to start in instead of the workflow's (it must be registered: else 422 UNKNOWN_QUEUE)." },
            queueKey: { type: 'string', minLength: 1, description: 'Its key within the queue (keyConcurrency counts per key; fairness round-robins keys).' },
            priority: { type: 'integer', description: 'Higher first within the queue (default 0).' },
            delayMs: { type: 'number', minimum: 0, description: 'Due this many ms from now (database clock).' },
            debounce: {
              ...object({ key: { type: 'string', minLength: 1 }, delayMs: { type: 'number', minimum: 0 }, maxDelayMs: { type: 'number', minimum: 0 } }, ['key', 'delayMs']),
              description: 'Runs once, delayMs after the last start with this key, with its input; not with idempotencyKey.',
            },
          },
          ['workflow'],
        ),
        true,
      ),
      responses: {
        '201': ok('Started', 'Started'),
        '200': ok('Started', 'The idempotency key matched an execution started earlier'),
        '409': errorResponse('The idempotency key belongs to another workflow'),
        '413': errorResponse('Input too large'),
        ...forWrites,
      },
    },
  },
  '/api/executions/batch': {
    post: {
      summary: 'Start many executions of one workflow in one call (engine.startMany): all or nothing, each item with its own idempotency key',
      operationId: 'startExecutions',
      requestBody: jsonBody(
        object(
          {
            workflow: { type: 'string' },
            version: { type: 'string' },
            inputs: { type: 'array', maxItems: 10_000, items: {}, description: 'One input per execution, in order.' },
            idempotencyKeys: {
              type: 'array',
              items: nullable({ type: 'string', minLength: 1 }),
              description: 'One key (or null) per input: a used key answers with its execution; the same key with another input is 409.',
            },
            timeoutMs: { type: 'number', exclusiveMinimum: 0, description: "Every execution's deadline from now." },
            queue: { type: 'string' },
            queueKey: { type: 'string', minLength: 1 },
            priority: { type: 'integer' },
            delayMs: { type: 'number', minimum: 0 },
          },
          ['workflow', 'inputs'],
        ),
        true,
      ),
      responses: {
        '201': ok('StartedMany', 'At least one execution was created'),
        '200': ok('StartedMany', 'Every item matched an execution started earlier under its idempotency key'),
        '409': errorResponse('An idempotency key belongs to another workflow or another input (the item is named); nothing was started'),
        '413': errorResponse('Body too large'),
        ...forWrites,
      },
    },
  },
  '/api/executions/{id}': {
    get: {
      summary: 'One execution with its steps (and what each wait waits for), children, mailbox, checkpoints, failures and the first page of its journal',
      operationId: 'getExecution',
      parameters: [idParam, full],
      responses: { '200': ok('ExecutionDetail'), '404': errorResponse('Unknown execution'), ...common },
    },
  },
  '/api/executions/{id}/journal': {
    get: {
      summary: 'The journal of an execution by pages, each record with whether its checksum still matches',
      operationId: 'readJournal',
      parameters: [
        idParam,
        query('afterLsn', { type: 'integer', minimum: 0 }, 'nextAfterLsn of the previous page.'),
        query('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Records per page (default 200).'),
        full,
      ],
      responses: { '200': ok('JournalPage'), '404': errorResponse('Unknown execution'), ...common },
    },
  },
  '/api/executions/{id}/cancel': {
    post: {
      summary:
        'Cancel an execution that is not finished: no step starts afterwards, a sleeping or waiting one ends at once; ' +
        'with compensate: true it becomes COMPENSATING and ends COMPENSATED once a worker ran its compensations in reverse',
      operationId: 'cancelExecution',
      parameters: [idParam],
      requestBody: jsonBody(
        object(
          {
            reason: { type: 'string', description: 'Recorded in its journal and as its error (default: "cancelled by an operator").' },
            compensate: { type: 'boolean', description: 'Run the compensations of its completed steps in reverse order (default false: none run).' },
          },
          [],
        ),
      ),
      responses: { '200': ok('ActionResult'), '404': errorResponse('Unknown execution'), '409': errorResponse('Already finished (ILLEGAL_TRANSITION)'), ...forWrites },
    },
  },
  '/api/executions/{id}/signals': {
    post: {
      summary: "Put a signal in an execution's mailbox: a wait for its name (ctx.waitForSignal) takes the oldest one, now or later",
      operationId: 'sendSignal',
      parameters: [idParam],
      requestBody: jsonBody(
        object(
          {
            name: { type: 'string', minLength: 1, description: 'The signal name a wait takes it by.' },
            payload: { description: 'Any JSON value, what the wait resolves to (left out: none).' },
            idempotencyKey: { type: 'string', minLength: 1, description: 'The same key again stores nothing and answers the first signal (200, duplicate: true).' },
          },
          ['name'],
        ),
        true,
      ),
      responses: {
        '201': ok('SignalSent', 'Sent'),
        '200': ok('SignalSent', 'The idempotency key matched a signal sent earlier: nothing sent again'),
        '404': errorResponse('Unknown execution'),
        '409': errorResponse('The execution is finished: COMPLETED, SUB_COMMITTED, COMPENSATED or CANCELLED (ILLEGAL_TRANSITION)'),
        '413': errorResponse('Payload too large'),
        ...forWrites,
      },
    },
  },
  '/api/executions/{id}/recover': {
    post: {
      summary: 'Recover from the newest unrecovered failure: resume from the last valid checkpoint, or compensate again',
      operationId: 'recoverExecution',
      parameters: [idParam],
      requestBody: jsonBody(object({ type: { enum: [...FAILURE_TYPES] } }, [])),
      responses: {
        '200': ok('ActionResult'),
        '404': errorResponse('Unknown execution'),
        '409': errorResponse('No failure to recover (NO_FAILURE_TO_RECOVER) or a worker holds it (EXECUTION_BUSY)'),
        ...forWrites,
      },
    },
  },
  '/api/executions/{id}/retry': {
    post: {
      summary: 'Run a failed or waiting execution again now',
      operationId: 'retryExecution',
      parameters: [idParam],
      requestBody: jsonBody(object({}, [])),
      responses: {
        '200': ok('ActionResult'),
        '404': errorResponse('Unknown execution'),
        '409': errorResponse('Finished (ILLEGAL_TRANSITION), running (EXECUTION_BUSY) or nothing to retry'),
        ...forWrites,
      },
    },
  },
  '/api/failures': {
    get: {
      summary: 'Recorded failures of every execution, newest first, by pages',
      operationId: 'listFailures',
      parameters: [
        query('type', { enum: [...FAILURE_TYPES] }, 'Only this type.'),
        query('workflow', { type: 'string' }, 'Only failures of this workflow.'),
        query('unrecovered', { type: 'boolean' }, 'Only those not yet recovered.'),
        limit,
        cursor,
      ],
      responses: { '200': ok('FailurePage'), ...common },
    },
  },
  '/api/failures/summary': {
    get: {
      summary: 'Failures grouped by workflow and type',
      operationId: 'summarizeFailures',
      parameters: [query('sinceSeconds', { type: 'integer', minimum: 60 }, 'How far back (default 7 days).')],
      responses: { '200': ok('FailureSummary'), ...common },
    },
  },
  '/api/workers': {
    get: { summary: 'Registered workers (idle ones too), live, stale or stopped, with the leases each holds', operationId: 'listWorkers', responses: { '200': ok('Workers'), ...common } },
  },
  '/api/workflows': {
    get: { summary: 'Registered workflows (name and version)', operationId: 'listWorkflows', responses: { '200': ok('Workflows'), ...common } },
  },
  '/api/stats': {
    get: {
      summary: 'Executions started, finished and failed per time bucket; unfinished executions by status; queue depth',
      operationId: 'getStats',
      parameters: [
        query('windowSeconds', { type: 'integer', minimum: 60 }, 'How far back (default 3600).'),
        query('buckets', { type: 'integer', minimum: 1, maximum: 240 }, 'How many buckets (default 60).'),
      ],
      responses: { '200': ok('Stats'), ...common },
    },
  },
  '/api/health': {
    get: { summary: 'The server and its database answer', operationId: 'getHealth', responses: { '200': ok('Health'), ...common, '503': errorResponse('The database does not answer') } },
  },
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Aries API',
      version: '1',
      description:
        'Operate a durable workflow engine: executions, their journals, checkpoints and failures, and the actions an operator takes ' +
        '(cancel, recover, retry, send a signal); queues and their limits, schedules, retention. Every call needs `Authorization: Bearer <token>` unless the server runs with --no-auth on loopback. ' +
        'Errors are `{ "error": { "code", "message", "details"? } }`. Prometheus metrics are at /metrics (same token).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
