/** /api/failures: recorded failures of every execution by pages (long ones as previews), and grouped by workflow and type. */
import { FAILURE_TYPES } from '../../core/failure-classification.js';
import { ERROR_PREVIEW_BYTES } from '../../db/execution-pages.js';
import { optionalBoolean, optionalEnum, optionalInt, optionalString } from '../query-params.js';
import type { Route } from '../route.js';

const DAY_SECONDS = 86_400;

export const failureRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/failures',
    async handle({ engine, query }) {
      const page = await engine.admin.listFailures({
        type: optionalEnum(query, 'type', FAILURE_TYPES),
        workflow: optionalString(query, 'workflow'),
        unrecoveredOnly: optionalBoolean(query, 'unrecovered') ?? false,
        limit: optionalInt(query, 'limit', 1, 1_000),
        cursor: optionalString(query, 'cursor'),
        // A page carries previews of long failures, as the executions page does of errors.
        truncateAboveBytes: ERROR_PREVIEW_BYTES,
      });
      return { body: page };
    },
  },
  {
    method: 'GET',
    path: '/api/failures/summary',
    async handle({ engine, query }) {
      const sinceSeconds = optionalInt(query, 'sinceSeconds', 60, 90 * DAY_SECONDS) ?? 7 * DAY_SECONDS;
      const since = new Date(Date.now() - sinceSeconds * 1000);
      return { body: { since, groups: await engine.admin.summarizeFailures(since) } };
    },
  },
];
