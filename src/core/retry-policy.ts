/**
 * Retry policies and backoff. A policy bounds how many attempts a step (or a compensation) gets for
 * TRANSIENT errors and how long to wait between them; the wait is a durable timer in the database, the
 * arithmetic is here. Attempts are counted from the step's first attempt (or from its last recovery): a
 * step whose worker died mid-attempt used that attempt too.
 */
import { InvalidDefinitionError } from '../errors.js';

export type Backoff = 'exponential' | 'linear' | 'fixed';
export type Jitter = 'full' | 'equal' | 'none';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). May be Infinity. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  backoff: Backoff;
  jitter: Jitter;
  /** Error class names (error.name or the constructor's name) that are PERMANENT, never retried. */
  nonRetryable: readonly string[];
}

export type RetryOptions = Partial<RetryPolicy>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  backoff: 'exponential',
  jitter: 'full',
  nonRetryable: Object.freeze([]) as readonly string[],
});

const BACKOFFS: readonly Backoff[] = ['exponential', 'linear', 'fixed'];
const JITTERS: readonly Jitter[] = ['full', 'equal', 'none'];

/** `options` laid over `base`, validated; `where` names the definition in errors. */
export function resolveRetryPolicy(base: RetryPolicy, options: RetryOptions | undefined, where: string): RetryPolicy {
  if (options === undefined) return base;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidDefinitionError(`${where}: retry must be an object such as { maxAttempts: 5 }`);
  }
  const policy: RetryPolicy = { ...base, ...options };
  const bad = (field: string, rule: string) =>
    new InvalidDefinitionError(`${where}: retry.${field} ${JSON.stringify((policy as unknown as Record<string, unknown>)[field])} is invalid: ${rule}`);
  if (!(policy.maxAttempts === Infinity || (Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1))) {
    throw bad('maxAttempts', 'use an integer ≥ 1 (or Infinity)');
  }
  for (const field of ['initialDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isFinite(policy[field]) || policy[field] < 0) throw bad(field, 'use a number of milliseconds ≥ 0');
  }
  if (policy.maxDelayMs < policy.initialDelayMs) throw bad('maxDelayMs', 'it must be ≥ initialDelayMs');
  if (!BACKOFFS.includes(policy.backoff)) throw bad('backoff', `use one of ${BACKOFFS.join(', ')}`);
  if (!JITTERS.includes(policy.jitter)) throw bad('jitter', `use one of ${JITTERS.join(', ')}`);
  if (!Array.isArray(policy.nonRetryable) || !policy.nonRetryable.every((n) => typeof n === 'string')) {
    throw bad('nonRetryable', 'use an array of error class names');
  }
  return Object.freeze(policy);
}

/** Whether a step that has used `attemptsUsed` attempts may have another. */
export function hasAttemptsLeft(policy: RetryPolicy, attemptsUsed: number): boolean {
  return attemptsUsed < policy.maxAttempts;
}

/**
 * The wait before the next attempt after `failures` failed ones (1 for the first retry): the backoff's
 * delay, capped at maxDelayMs, then jittered ('full': uniform in [0, d]; 'equal': in [d/2, d]).
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const n = Math.max(1, failures);
  const raw =
    policy.backoff === 'exponential'
      ? policy.initialDelayMs * 2 ** Math.min(n - 1, 52)
      : policy.backoff === 'linear'
        ? policy.initialDelayMs * n
        : policy.initialDelayMs;
  const capped = Math.min(policy.maxDelayMs, raw);
  const jittered = policy.jitter === 'full' ? capped * random() : policy.jitter === 'equal' ? capped / 2 + (capped / 2) * random() : capped;
  return Math.round(jittered);
}
