/**
 * The OpenAPI document's queues, schedules and retention: their schemas and paths (routes/queues.ts,
 * routes/schedules.ts, routes/retention.ts), merged into the document by openapi.ts.
 */
import { EXECUTION_STATUSES } from '../core/execution-states.js';
import { errorResponse, forWrites, common, jsonBody, nullable, object, ok, query, ref, time, type Schema } from './openapi-parts.js';

const rateLimit = object({ limit: { type: 'integer', minimum: 1 }, periodMs: { type: 'integer', minimum: 1 } });

const scheduleProperties: Record<string, Schema> = {
  name: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string', description: 'IANA timezone the cron is read in.' },
  workflow: { ...nullable({ type: 'string' }), description: 'What each slot starts (null for a built-in schedule, which runs action).' },
  version: { ...nullable({ type: 'string' }), description: 'null: the newest registered version when each slot starts.' },
  input: { description: 'The input each slot starts with (any JSON).' },
  action: { ...nullable({ type: 'string' }), description: "A built-in schedule's SQL action." },
  misfire: { enum: ['skip', 'once', 'all'] },
  maxLatenessMs: { type: 'integer' },
  paused: { type: 'boolean' },
  nextFireAt: { ...time, description: 'Its first slot not yet handled (database clock).' },
  lastSlotAt: { ...nullable(time), description: 'The newest slot it handled (started, skipped or missed).' },
  createdAt: time,
  updatedAt: time,
  recentSlots: { type: 'array', items: ref('ScheduleSlot'), description: 'In the list: its newest 5 slot records, newest first (one schedule: empty; see slots).' },
};

const queueParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'The queue name.' };
const scheduleParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'The schedule name.' };

export const flowControlSchemas: Record<string, Schema> = {
  Queue: object({
    name: { type: 'string' },
    concurrency: { ...nullable({ type: 'integer' }), description: 'Holding a slot at once across every worker (null: unlimited).' },
    workerConcurrency: { ...nullable({ type: 'integer' }), description: 'Per worker (null: unlimited).' },
    keyConcurrency: { ...nullable({ type: 'integer' }), description: 'Per queue key (null: unlimited).' },
    rateLimit: { ...nullable(rateLimit), description: 'First starts per sliding window of periodMs (null: none).' },
    paused: { type: 'boolean' },
    source: { enum: ['definition', 'operator'], description: "Who set the limits last; an operator's are kept when a deploy registers the definition again." },
    createdAt: time,
    updatedAt: time,
    pending: { type: 'integer', description: 'PENDING and due.' },
    delayed: { type: 'integer', description: 'PENDING, not due yet (a delay, a debounce, a backoff).' },
    running: { type: 'integer', description: 'Holding a slot (a lease owner).' },
    waiting: { type: 'integer', description: 'SLEEPING or WAITING: holding no slot.' },
    oldestDueMs: { ...nullable({ type: 'number' }), description: 'How long the oldest due PENDING one has been due, in ms (null: none).' },
    startedInWindow: { ...nullable({ type: 'integer' }), description: 'First starts within the rate window (null: no rate limit).' },
  }),
  Queues: object({ queues: { type: 'array', items: ref('Queue') } }),
  ScheduleSlot: object({
    id: { type: 'integer' },
    slotAt: { ...time, description: "The slot (a range's first); a manual run's is when it was triggered." },
    throughAt: { ...nullable(time), description: "A range's last slot (null: one slot)." },
    count: { type: 'integer', description: 'Slots this record stands for (1 unless a range).' },
    status: { enum: ['started', 'skipped', 'missed', 'manual'] },
    executionId: nullable({ type: 'string', format: 'uuid' }),
    executionStatus: { ...nullable({ enum: [...EXECUTION_STATUSES] }), description: "The execution's status now (null: none, or purged)." },
    actionResult: { ...nullable({ type: 'integer' }), description: "A built-in schedule's action count." },
    recordedAt: time,
  }),
  Schedule: object(scheduleProperties, Object.keys(scheduleProperties).filter((k) => k !== 'input')),
  ScheduleDetail: object(
    { ...scheduleProperties, slots: { type: 'array', items: ref('ScheduleSlot'), description: 'Its newest slot records, newest first (limit, default 100).' } },
    [...Object.keys(scheduleProperties).filter((k) => k !== 'input'), 'slots'],
  ),
  Schedules: object({ schedules: { type: 'array', items: ref('Schedule') } }),
  ScheduleSaved: object({ created: { type: 'boolean' }, schedule: ref('ScheduleDetail') }),
  SchedulePaused: object({ wasPaused: { type: 'boolean', description: 'Whether it was paused before this call.' }, schedule: ref('ScheduleDetail') }),
  ScheduleTriggered: object({
    executionId: { ...nullable({ type: 'string', format: 'uuid' }), description: 'The execution the manual slot started (null for a built-in schedule).' },
    actionResult: { ...nullable({ type: 'integer' }), description: "A built-in schedule's action count." },
  }),
  ScheduleDeleted: object({ deleted: { type: 'string', description: 'The name of the schedule deleted.' } }),
  RetentionPolicy: object({
    workflow: { ...nullable({ type: 'string' }), description: 'null: the default, for every workflow without its own.' },
    finishedMs: { ...nullable({ type: 'integer' }), description: 'A finished execution is deleted this long after it finished (null: kept for ever).' },
    idempotencyKeysMs: { ...nullable({ type: 'integer' }), description: 'Its idempotency key is honoured this long after it finished (null: goes with the body).' },
    source: { enum: ['definition', 'operator'] },
    updatedAt: time,
  }),
  Retention: object({ default: nullable(ref('RetentionPolicy')), workflows: { type: 'array', items: ref('RetentionPolicy') } }),
  PurgeResult: object({
    executions: { type: 'integer', description: 'Executions deleted (children with their parents).' },
    keysKept: { type: 'integer', description: 'Idempotency keys of deleted executions kept longer than their bodies.' },
    keysExpired: { type: 'integer', description: 'Kept idempotency keys deleted because they expired.' },
  }),
};

export const flowControlPaths: Record<string, Record<string, Schema>> = {
  '/api/queues': {
    get: { summary: 'Every queue by name: its limits and live stats', operationId: 'listQueues', responses: { '200': ok('Queues'), ...common } },
  },
  '/api/queues/{name}': {
    get: {
      summary: "One queue's limits and live stats",
      operationId: 'getQueue',
      parameters: [queueParam],
      responses: { '200': ok('Queue'), '404': errorResponse('Unknown queue'), ...common },
    },
    patch: {
      summary: "Change a queue's limits or pause it: a limit given replaces the current one, null removes it; the next claim applies it, and a deploy keeps it",
      operationId: 'setQueue',
      parameters: [queueParam],
      requestBody: jsonBody(
        object(
          {
            concurrency: nullable({ type: 'integer', minimum: 1 }),
            workerConcurrency: nullable({ type: 'integer', minimum: 1 }),
            keyConcurrency: nullable({ type: 'integer', minimum: 1 }),
            rateLimit: nullable(rateLimit),
            paused: { type: 'boolean' },
          },
          [],
        ),
        true,
      ),
      responses: { '200': ok('Queue'), ...forWrites, '422': errorResponse('Bad input (names the setting), or an unknown queue (UNKNOWN_QUEUE)') },
    },
  },
  '/api/schedules': {
    get: {
      summary: 'Every schedule by name (the built-in ones too): definition, paused, next fire time, newest slots',
      operationId: 'listSchedules',
      responses: { '200': ok('Schedules'), ...common },
    },
  },
  '/api/schedules/{name}': {
    get: {
      summary: 'One schedule with its newest slot records: started, manual, and the skipped and missed ranges',
      operationId: 'getSchedule',
      parameters: [scheduleParam, query('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Slot records (default 100).')],
      responses: { '200': ok('ScheduleDetail'), '404': errorResponse('Unknown schedule (SCHEDULE_NOT_FOUND)'), ...common },
    },
    put: {
      summary: 'Create or change a schedule (an upsert): a changed cron or timezone computes the next slot from now, the same one keeps it',
      operationId: 'putSchedule',
      parameters: [scheduleParam],
      requestBody: jsonBody(
        object(
          {
            cron: { type: 'string', description: "Five fields (minutes) or six (seconds first): '0 2 * * *'." },
            timezone: { type: 'string', description: "IANA (default 'UTC')." },
            workflow: { type: 'string', description: 'A registered workflow name.' },
            version: { type: 'string', description: 'Default: the newest registered when each slot starts.' },
            input: { description: 'Any JSON: what each slot starts with.' },
            misfire: { enum: ['skip', 'once', 'all'], description: "Slots that came due while nothing fired (default 'skip')." },
            maxLatenessMs: { type: 'number', exclusiveMinimum: 0, description: 'A slot is on time within this many ms (default 60000).' },
          },
          ['cron', 'workflow'],
        ),
        true,
      ),
      responses: {
        '201': ok('ScheduleSaved', 'Created'),
        '200': ok('ScheduleSaved', 'Changed'),
        ...forWrites,
        '422': errorResponse('Invalid cron, timezone, misfire or input, a built-in name (INVALID_INPUT), or an unknown workflow (UNKNOWN_WORKFLOW)'),
      },
    },
    delete: {
      summary: 'Delete a schedule and its slot records (the executions it started stay); a built-in one cannot be deleted (pause it)',
      operationId: 'deleteSchedule',
      parameters: [scheduleParam],
      responses: { '200': ok('ScheduleDeleted'), '404': errorResponse('Unknown schedule (SCHEDULE_NOT_FOUND)'), ...forWrites },
    },
  },
  '/api/schedules/{name}/pause': {
    post: {
      summary: 'Pause a schedule: no slot fires until it is resumed',
      operationId: 'pauseSchedule',
      parameters: [scheduleParam],
      requestBody: jsonBody(object({}, [])),
      responses: { '200': ok('SchedulePaused'), '404': errorResponse('Unknown schedule (SCHEDULE_NOT_FOUND)'), ...forWrites },
    },
  },
  '/api/schedules/{name}/resume': {
    post: {
      summary: 'Resume a schedule: the slots that came due while paused are handled by its misfire policy',
      operationId: 'resumeSchedule',
      parameters: [scheduleParam],
      requestBody: jsonBody(object({}, [])),
      responses: { '200': ok('SchedulePaused'), '404': errorResponse('Unknown schedule (SCHEDULE_NOT_FOUND)'), ...forWrites },
    },
  },
  '/api/schedules/{name}/trigger': {
    post: {
      summary: 'Run a schedule once now (a manual slot; its cron slots are untouched), even when paused',
      operationId: 'triggerSchedule',
      parameters: [scheduleParam],
      requestBody: jsonBody(object({}, [])),
      responses: { '200': ok('ScheduleTriggered'), '404': errorResponse('Unknown schedule (SCHEDULE_NOT_FOUND)'), ...forWrites },
    },
  },
  '/api/retention': {
    get: { summary: "The retention policies: the default and each workflow's, with who set it", operationId: 'getRetention', responses: { '200': ok('Retention'), ...common } },
    put: {
      summary: "Set an operator's retention policy of one workflow, or the default: it replaces that policy whole (an omitted duration: kept for ever)",
      operationId: 'setRetention',
      requestBody: jsonBody(
        object(
          {
            finishedMs: { type: 'integer', minimum: 1 },
            idempotencyKeysMs: { type: 'integer', minimum: 1 },
            workflow: { type: 'string', minLength: 1, description: 'Left out: the default policy.' },
          },
          [],
        ),
        true,
      ),
      responses: { '200': ok('Retention'), ...forWrites },
    },
  },
  '/api/retention/purge': {
    post: {
      summary: 'One bounded purge pass (one short transaction): finished executions older than their policy and expired idempotency keys; call again while it returns a full batch',
      operationId: 'purgeFinished',
      requestBody: jsonBody(object({ batchSize: { type: 'integer', minimum: 1, description: 'At most this many executions (default 1000).' } }, [])),
      responses: { '200': ok('PurgeResult'), ...forWrites },
    },
  },
};
