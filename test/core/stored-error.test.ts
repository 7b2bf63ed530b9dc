import { describe, expect, it } from 'vitest';
import { checkStoredErrorPolicy, redactStoredError, toStoredError } from '../../src/core/stored-error.js';
import { InvalidInputError } from '../../src/errors.js';

describe('redactStoredError', () => {
  const stored = () => toStoredError(new Error('password=hunter2'));

  it('stores what the hook returns, re-capped', () => {
    const out = redactStoredError(stored(), { redactError: (e) => ({ ...e, message: `${'x'.repeat(5000)}`, stack: undefined }) });
    expect(out.message).toMatch(/^x{4096}… \[904 more characters cut\]$/);
  });

  it('a hook that returns something that is not an error stores no message', () => {
    for (const bad of [null, 'a string', { name: 'E' }, { name: 'E', message: 1 }, { name: 'E', message: 'm', when: new Date() }]) {
      const out = redactStoredError(stored(), { redactError: () => bad as never });
      expect(out).toEqual({ name: 'Error', message: '[redactError failed: the message is not stored]' });
    }
  });

  it('with storeStacks false, a stack the hook puts back is not stored', () => {
    const out = redactStoredError(toStoredError(new Error('m'), { storeStacks: false }), {
      storeStacks: false,
      redactError: (e) => ({ ...e, stack: 'Error: m\n    at f (/abs/file.js:1:1)' }),
    });
    expect(out.stack).toBeUndefined();
  });

  it('without a hook, the stored error is unchanged', () => {
    const s = stored();
    expect(redactStoredError(s, {})).toBe(s);
  });
});

describe('checkStoredErrorPolicy', () => {
  it('refuses a redactError that is not a function and a storeStacks that is not a boolean', () => {
    expect(() => checkStoredErrorPolicy({ redactError: 'mask' })).toThrow(InvalidInputError);
    expect(() => checkStoredErrorPolicy({ storeStacks: 'no' })).toThrow(InvalidInputError);
    expect(checkStoredErrorPolicy({ storeStacks: false })).toEqual({ redactError: undefined, storeStacks: false });
  });
});
