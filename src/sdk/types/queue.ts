/**
 * The public types of a queue definition: what `defineQueue` takes and returns. Types and the brand check
 * only, so the worker and workflow types can name queues without importing the SDK's implementation.
 */

/** A queue's limits. Each is optional (absent: unlimited); each given one is a positive integer. */
export interface QueueLimits {
  /** Executions holding a slot (running) at once, across every worker on the database. */
  concurrency?: number;
  /** Per worker (the claiming worker's id). */
  workerConcurrency?: number;
  /** Per queue key (StartOptions.queueKey), e.g. one run per customer. Starts without a key are not key-limited. */
  keyConcurrency?: number;
  /** First starts per sliding window of periodMs, on the database clock. */
  rateLimit?: { limit: number; periodMs: number };
}

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
