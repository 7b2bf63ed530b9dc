import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_POLICY, hasAttemptsLeft, resolveRetryPolicy, retryDelayMs } from '../../src/core/retry-policy.js';
import { InvalidDefinitionError } from '../../src/errors.js';

const policy = (o: Parameters<typeof resolveRetryPolicy>[1]) => resolveRetryPolicy(DEFAULT_RETRY_POLICY, o, 'test');

describe('retry policy', () => {
  test('exponential backoff doubles from initialDelayMs and is capped at maxDelayMs', () => {
    const p = policy({ initialDelayMs: 200, maxDelayMs: 1_000, backoff: 'exponential', jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(p, n))).toEqual([200, 400, 800, 1_000, 1_000]);
    expect(retryDelayMs(p, 10_000)).toBe(1_000); // no overflow
  });

  test('linear and fixed backoff', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(policy({ initialDelayMs: 100, backoff: 'linear', jitter: 'none' }), n))).toEqual([100, 200, 300]);
    expect([1, 2, 3].map((n) => retryDelayMs(policy({ initialDelayMs: 100, backoff: 'fixed', jitter: 'none' }), n))).toEqual([100, 100, 100]);
  });

  test("full jitter spreads the delay over [0, d], equal jitter over [d/2, d]", () => {
    const p = policy({ initialDelayMs: 1_000, maxDelayMs: 1_000, jitter: 'full' });
    expect(retryDelayMs(p, 1, () => 0)).toBe(0);
    expect(retryDelayMs(p, 1, () => 0.999)).toBe(999);
    const e = policy({ initialDelayMs: 1_000, maxDelayMs: 1_000, jitter: 'equal' });
    expect(retryDelayMs(e, 1, () => 0)).toBe(500);
    expect(retryDelayMs(e, 1, () => 1)).toBe(1_000);
  });

  test('maxAttempts counts every attempt, the first included', () => {
    const p = policy({ maxAttempts: 3 });
    expect([1, 2, 3].map((used) => hasAttemptsLeft(p, used))).toEqual([true, true, false]);
    expect(hasAttemptsLeft(policy({ maxAttempts: Infinity }), 1e9)).toBe(true);
  });

  test('a step policy overrides only the fields it names', () => {
    const base = policy({ maxAttempts: 5, initialDelayMs: 200 });
    expect(resolveRetryPolicy(base, { maxAttempts: 10 }, 'step')).toMatchObject({ maxAttempts: 10, initialDelayMs: 200 });
  });

  test('invalid policies are refused with the field named', () => {
    for (const [bad, field] of [
      [{ maxAttempts: 0 }, 'maxAttempts'],
      [{ maxAttempts: 1.5 }, 'maxAttempts'],
      [{ initialDelayMs: -1 }, 'initialDelayMs'],
      [{ initialDelayMs: 10, maxDelayMs: 5 }, 'maxDelayMs'],
      [{ backoff: 'quadratic' }, 'backoff'],
      [{ jitter: 'some' }, 'jitter'],
      [{ nonRetryable: 'TypeError' }, 'nonRetryable'],
    ] as const) {
      expect(() => policy(bad as never), field).toThrow(InvalidDefinitionError);
      expect(() => policy(bad as never), field).toThrow(`retry.${field}`);
    }
  });
});
