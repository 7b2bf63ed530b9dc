/**
 * Retention policies: how long finished executions and their idempotency keys are kept. Pure rules only;
 * the policies live in aries.retention_policies and aries.purge_finished applies them on the database clock.
 */

export interface RetentionPolicy {
  /** Delete a finished (COMPLETED, COMPENSATED, CANCELLED) execution this long after it finished. Omitted: keep it for ever. */
  finishedMs?: number;
  /**
   * Honour its idempotency key this long after it finished, even once its body is deleted (a start with
   * the key returns the old id). Omitted, or not longer than finishedMs: the key goes with the body.
   */
  idempotencyKeysMs?: number;
}

/** A policy as stored: for one workflow, or the default (workflow null), set by a definition or an operator. */
export interface StoredRetentionPolicy {
  workflow: string | null;
  finishedMs: number | null;
  idempotencyKeysMs: number | null;
  source: 'definition' | 'operator';
  updatedAt: Date;
}

function isDuration(ms: unknown): boolean {
  return typeof ms === 'number' && Number.isSafeInteger(ms) && ms > 0;
}

/** What is wrong with a policy given by a user (undefined: nothing), for the caller's error class. */
export function retentionPolicyProblem(policy: unknown): string | undefined {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    return `a retention policy is { finishedMs?, idempotencyKeysMs? }, got ${JSON.stringify(policy)}`;
  }
  const known = new Set(['finishedMs', 'idempotencyKeysMs']);
  const unknown = Object.keys(policy).filter((k) => !known.has(k));
  if (unknown.length > 0) return `a retention policy has no option ${unknown.map((k) => JSON.stringify(k)).join(', ')}`;
  const { finishedMs, idempotencyKeysMs } = policy as RetentionPolicy;
  if (finishedMs !== undefined && !isDuration(finishedMs)) {
    return `retention finishedMs must be a positive whole number of milliseconds, got ${String(finishedMs)}`;
  }
  if (idempotencyKeysMs !== undefined && !isDuration(idempotencyKeysMs)) {
    return `retention idempotencyKeysMs must be a positive whole number of milliseconds, got ${String(idempotencyKeysMs)}`;
  }
  return undefined;
}
