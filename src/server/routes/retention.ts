/**
 * /api/retention: the retention policies (the default and each workflow's, with who set it), an
 * operator's policy (replacing that one whole; a later deploy does not overwrite it), and one bounded
 * purge pass of finished executions and expired idempotency keys.
 */
import { bodyNumber, bodyString } from '../query-params.js';
import type { Route } from '../route.js';

export const retentionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/retention',
    async handle({ engine }) {
      return { body: await engine.admin.getRetention() };
    },
  },
  {
    method: 'PUT',
    path: '/api/retention',
    bodyFields: ['workflow', 'finishedMs', 'idempotencyKeysMs'],
    async handle({ engine, body }) {
      const { workflow: _workflow, ...policy } = body;
      // engine.admin.setRetention refuses an unknown field or a duration that is not a positive whole number.
      await engine.admin.setRetention(policy, bodyString(body, 'workflow'));
      return { body: await engine.admin.getRetention() };
    },
  },
  {
    method: 'POST',
    path: '/api/retention/purge',
    bodyFields: ['batchSize'],
    async handle({ engine, body }) {
      const batchSize = bodyNumber(body, 'batchSize');
      return { body: await engine.admin.purgeFinished(batchSize === undefined ? {} : { batchSize }) };
    },
  },
];
