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

  test('programmer errors and deterministic SQL errors (classes 22, 23, 42) are PERMANENT by default', () => {
    for (const err of [new TypeError('x.y is not a function'), new ReferenceError('z is not defined'), new SyntaxError('bad'), new RangeError('too deep')]) {
      expect(classifyError(err, []), err.name).toEqual({ type: 'PERMANENT', source: 'step' });
    }
    // 22P02 invalid text representation, 23514 check violation, 23505 unique violation, 42P01 undefined table, 42501 insufficient privilege
    for (const code of ['22P02', '22012', '23514', '23505', '42P01', '42501']) {
      expect(classifyError(withCode(code), []).type, code).toBe('PERMANENT');
    }
    // a query builder's wrapper around one (Drizzle's "Failed query", the database error as its cause)
    expect(classifyError(new Error('Failed query: insert into …', { cause: withCode('23505') }), []).type).toBe('PERMANENT');
    // a transient cause inside a TypeError still wins: the network is at fault, not the program
    expect(classifyError(new TypeError('fetch failed', { cause: withCode('ECONNRESET') }), []).type).toBe('TRANSIENT');
    // a classifier can still call them TRANSIENT
    expect(classifyError(withCode('23505'), [() => 'TRANSIENT']).type).toBe('TRANSIENT');
    expect(classifyError(new TypeError('x'), [() => 'TRANSIENT']).type).toBe('TRANSIENT');
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
