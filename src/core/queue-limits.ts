/**
 * A queue's limits, as defineQueue takes them and aries.queues stores them. Each is optional (absent:
 * unlimited); each given one is a positive integer.
 */
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
