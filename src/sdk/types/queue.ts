/**
 * The public types of a queue definition: what `defineQueue` takes and returns. Types and the brand check
 * only, so the worker and workflow types can name queues without importing the SDK's implementation.
 */
import type { QueueLimits } from '../../core/queue-limits.js';

export type { QueueLimits } from '../../core/queue-limits.js';

export type QueueOptions = QueueLimits;

export interface Queue {
  readonly name: string;
  readonly limits: Readonly<QueueLimits>;
  /** Brand, so queues can be told apart from other values. */
  readonly kind: 'aries.queue';
}

export function isQueue(value: unknown): value is Queue {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'aries.queue';
}

/** The name of a queue given as a defineQueue() value or as a name (WorkflowOptions.queue, StartOptions.queue). */
export function queueName(queue: Queue | string | undefined): string | undefined {
  return isQueue(queue) ? queue.name : queue;
}
