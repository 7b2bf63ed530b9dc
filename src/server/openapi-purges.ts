/** The OpenAPI document's purge paths and the audit record schema (routes/purges.ts), merged by openapi.ts. */
import { EXECUTION_STATUSES } from '../core/execution-states.js';
import { errorResponse, forWrites, common, jsonBody, nullable, object, ok, query, ref, time, type Schema } from './openapi-parts.js';

const count = { type: 'integer', minimum: 0 };

export const purgeSchemas: Record<string, Schema> = {
  PurgeRecord: object({
    id: { type: 'integer' },
    executionId: { type: 'string', format: 'uuid' },
    workflow: { type: 'string' },
    version: { type: 'string' },
    status: { enum: [...EXECUTION_STATUSES], description: 'The status it had when it was purged.' },
    purgedBy: { type: 'string', description: 'The name the caller gave.' },
    databaseUser: { type: 'string', description: 'The database user of the session that purged it.' },
    reason: nullable({ type: 'string' }),
    purgedAt: { ...time, description: 'Database clock.' },
    removed: {
      ...object({ executions: count, steps: count, journalRecords: count, checkpoints: count, failures: count, signals: count, waits: count }),
      description: 'Rows removed: the execution and its children, and what belonged to them.',
    },
  }),
  PurgeList: object({ purges: { type: 'array', items: ref('PurgeRecord') } }),
};

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The execution id (a UUID).' };

export const purgePaths: Record<string, Record<string, Schema>> = {
  '/api/executions/{id}/purge': {
    post: {
      summary:
        'Delete an execution at rest (COMPLETED, COMPENSATED, CANCELLED or FAILED) with its children and everything that belongs to them: ' +
        'journal, steps, waits, checkpoints, failures, signals, its kept idempotency key. Leaves an audit record; cannot be undone',
      operationId: 'purgeExecution',
      parameters: [idParam],
      requestBody: jsonBody(
        object(
          {
            by: { type: 'string', minLength: 1, maxLength: 256, description: 'Who purges, kept in the audit record (default "api").' },
            reason: { type: 'string', description: 'Why, kept in the audit record.' },
          },
          [],
        ),
      ),
      responses: {
        '200': ok('PurgeRecord', 'Purged: the audit record'),
        '404': errorResponse('Unknown execution'),
        '409': errorResponse('Not at rest: cancel it first (EXECUTION_ACTIVE); or a child, purged with its top-level execution (PURGE_REFUSED)'),
        ...forWrites,
        '403': errorResponse("Not JSON, from another origin, or the server's database role may not purge (PERMISSION_DENIED)"),
      },
    },
  },
  '/api/purges': {
    get: {
      summary: 'The audit records of purged executions, newest first',
      operationId: 'listPurges',
      parameters: [
        query('execution', { type: 'string' }, 'Only the records of this execution id.'),
        query('limit', { type: 'integer', minimum: 1, maximum: 10000 }, 'At most this many (default 100).'),
      ],
      responses: { '200': ok('PurgeList'), '404': errorResponse('No record of that id and no such execution'), ...common },
    },
  },
};
