import { describe, expect, test } from 'vitest';
import { classifyError } from '../../src/core/failure-classification.js';
import { NondeterminismError, NotJsonSerializableError, PermanentError } from '../../src/errors.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyError', () => {
  test('network errors and transient SQLSTATEs are TRANSIENT, and network ones name the network as source', () => {
    for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', '08006', '57P01', '53300']) {
      expect(classifyError(withCode(code), []), code).toMatchObject({ type: 'TRANSIENT' });
    }
    expect(classifyError(withCode('ECONNRESET'), [])).toEqual({ type: 'TRANSIENT', source: 'network' });
    expect(classifyError(withCode('40001'), [])).toEqual({ type: 'TRANSIENT', source: 'step' });
    expect(classifyError(withCode('40P01'), [])).toEqual({ type: 'TRANSIENT', source: 'step' });
    // fetch() wraps the socket error in a TypeError's cause.
    expect(classifyError(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }), [])).toEqual({ type: 'TRANSIENT', source: 'network' });
  });

  test('a PermanentError, an error marked retryable: false, a non-retryable class and Aries programmer errors are PERMANENT', () => {
    expect(classifyError(new PermanentError('declined'), []).type).toBe('PERMANENT');
    expect(classifyError(Object.assign(new Error('no'), { retryable: false }), []).type).toBe('PERMANENT');
    class CardDeclined extends Error {}
    expect(classifyError(new CardDeclined('no'), [], ['CardDeclined']).type).toBe('PERMANENT');
    expect(classifyError(new NondeterminismError('changed'), []).type).toBe('PERMANENT');
    expect(classifyError(new NotJsonSerializableError('output', 'a Date'), []).type).toBe('PERMANENT');
  });

  test('anything else is TRANSIENT: the retry policy bounds it', () => {
    expect(classifyError(new Error('boom'), [])).toEqual({ type: 'TRANSIENT', source: 'step' });
    expect(classifyError('a string', [])).toEqual({ type: 'TRANSIENT', source: 'step' });
  });

  test("the user's classifiers come first, in order; undefined or a throwing classifier defers to the next rule", () => {
    const err = withCode('ECONNRESET');
    expect(classifyError(err, [() => 'PERMANENT']).type).toBe('PERMANENT');
    expect(classifyError(err, [undefined, () => undefined, () => 'PARTIAL']).type).toBe('PARTIAL');
    expect(classifyError(new PermanentError('x'), [() => 'TRANSIENT']).type).toBe('TRANSIENT');
    expect(classifyError(err, [() => { throw new Error('bug in classifier'); }]).type).toBe('TRANSIENT');
    expect(classifyError(err, [() => 'NONSENSE' as never]).type).toBe('TRANSIENT');
  });
});
