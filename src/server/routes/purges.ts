/**
 * Purge: POST /api/executions/{id}/purge deletes an execution at rest with its children and everything
 * that belongs to them (engine.admin.purge), answering with the audit record; GET /api/purges lists those
 * records, newest first. Who purged is the `by` of the body (default "api"): the server has one token,
 * so the name is the caller's word; the record also keeps the database user.
 */
import { ExecutionNotFoundError } from '../../errors.js';
import { bodyString, optionalInt, optionalString } from '../query-params.js';
import type { Route } from '../route.js';

export const purgeRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/executions/{id}/purge',
    bodyFields: ['by', 'reason'],
    async handle({ engine, params, body }) {
      const record = await engine.admin.purge(params.id!, { by: bodyString(body, 'by') ?? 'api', reason: bodyString(body, 'reason') });
      return { body: record };
    },
  },
  {
    method: 'GET',
    path: '/api/purges',
    async handle({ engine, query }) {
      const executionId = optionalString(query, 'execution');
      const purges = await engine.admin.listPurges({ executionId, limit: optionalInt(query, 'limit', 1, 10_000) ?? 100 });
      if (executionId !== undefined && purges.length === 0 && !(await engine.admin.readExecution(executionId))) {
        throw new ExecutionNotFoundError(`no purge of execution ${executionId} is recorded, and no such execution exists`);
      }
      return { body: { purges } };
    },
  },
];
