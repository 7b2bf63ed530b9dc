/**
 * /api/queues: every queue with its limits and live stats (pending and due, delayed, running, waiting,
 * the oldest due one's age, first starts in the rate window), one queue, and an operator's change of its
 * limits or pause. A change takes effect at the next claim and is kept when a deploy registers the
 * queue's definition again.
 */
import type { QueueChange } from '../../db/queues.js';
import { InvalidInputError, RequestRefusedError } from '../../errors.js';
import { bodyBoolean, refuseUnknownFields } from '../query-params.js';
import type { Route } from '../route.js';

const LIMITS = ['concurrency', 'workerConcurrency', 'keyConcurrency', 'rateLimit'] as const;
const SETTINGS = [...LIMITS, 'paused'] as const;

/** The body of a PATCH as a QueueChange: a limit given replaces the current one, null removes it. */
function queueChange(body: Record<string, unknown>): QueueChange {
  refuseUnknownFields(body, SETTINGS);
  if (!SETTINGS.some((k) => body[k] !== undefined)) {
    throw new InvalidInputError(`nothing to change: give at least one of ${SETTINGS.join(', ')}`);
  }
  if (body.paused === null) throw new InvalidInputError('paused must be true or false (null clears limits only)', { field: 'paused' });
  const change: Record<string, unknown> = {};
  for (const key of LIMITS) if (key in body) change[key] = body[key];
  const paused = bodyBoolean(body, 'paused');
  if (paused !== undefined) change.paused = paused;
  // The limits' values are checked by engine.admin.setQueue, which names the limit and what it must be.
  return change as QueueChange;
}

export const queueRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/queues',
    async handle({ engine }) {
      return { body: { queues: await engine.admin.listQueues() } };
    },
  },
  {
    method: 'GET',
    path: '/api/queues/{name}',
    async handle({ engine, params }) {
      const queue = await engine.admin.getQueue(params.name!);
      if (!queue) throw new RequestRefusedError('NOT_FOUND', `queue "${params.name}" not found`);
      return { body: queue };
    },
  },
  {
    method: 'PATCH',
    path: '/api/queues/{name}',
    bodyFields: SETTINGS,
    async handle({ engine, params, body }) {
      return { body: await engine.admin.setQueue(params.name!, queueChange(body)) };
    },
  },
];
