/**
 * Defining a queue: a name and optional limits (concurrency across workers, per worker, per key, a rate).
 * Workflows name it (WorkflowOptions.queue) or a start does (StartOptions.queue); the SDK registers it in
 * the database before the first start and when a worker starts, as it registers workflows. Limits an
 * operator changed at runtime (engine.admin.setQueue) are not overwritten by this definition.
 */
import { InvalidDefinitionError } from '../errors.js';
import type { Queue, QueueLimits, QueueOptions } from './types/queue.js';

export type { Queue, QueueLimits, QueueOptions } from './types/queue.js';
export { isQueue } from './types/queue.js';

/** The largest queue name in bytes (aries.queues refuses longer). */
export const MAX_QUEUE_NAME_BYTES = 200;

export function defineQueue(name: string, options: QueueOptions = {}): Queue {
  checkQueueName(name, InvalidDefinitionError);
  if (typeof options !== 'object' || options === null) {
    throw new InvalidDefinitionError(`queue "${name}": options must be an object of limits`);
  }
  const limits = checkQueueLimits(options, `queue "${name}"`, (m) => new InvalidDefinitionError(m));
  return Object.freeze({ name, limits: Object.freeze(limits), kind: 'aries.queue' as const });
}

export function checkQueueName(name: unknown, ErrorClass: new (message: string) => Error): asserts name is string {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name, 'utf8') > MAX_QUEUE_NAME_BYTES) {
    throw new ErrorClass(`a queue name must be a non-empty string of at most ${MAX_QUEUE_NAME_BYTES} bytes, got ${JSON.stringify(name) ?? String(name)}`);
  }
}

/** The given limits, each checked to be a positive integer (what aries.queues stores). */
export function checkQueueLimits(options: QueueLimits, what: string, error: (message: string) => Error): QueueLimits {
  const limits: QueueLimits = {};
  for (const key of ['concurrency', 'workerConcurrency', 'keyConcurrency'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!isPositiveInt(value)) throw error(`${what}: ${key} must be a positive integer, got ${String(value)}`);
    limits[key] = value;
  }
  if (options.rateLimit !== undefined) {
    const rate = options.rateLimit as { limit?: unknown; periodMs?: unknown } | null;
    if (typeof rate !== 'object' || rate === null || !isPositiveInt(rate.limit) || !isPositiveInt(rate.periodMs)) {
      throw error(`${what}: rateLimit must be { limit, periodMs }, both positive integers, got ${JSON.stringify(rate)}`);
    }
    limits.rateLimit = { limit: rate.limit, periodMs: rate.periodMs };
  }
  return limits;
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 2_147_483_647;
}
