import { describe, expect, test } from 'vitest';
import { NotJsonSerializableError } from '../../src/errors.js';
import { refuseUnsafeIntegers } from '../../src/server/unsafe-integers.js';

function pathOf(text: string): string | undefined {
  try {
    JSON.parse(text);
    refuseUnsafeIntegers(text);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(NotJsonSerializableError);
    return (err as NotJsonSerializableError).path;
  }
}

describe('refuseUnsafeIntegers', () => {
  test('names the path of an integer literal beyond ±(2^53 − 1)', () => {
    expect(pathOf('{"input":{"ids":[1,123456789012345678901234567890]}}')).toBe('input.ids[1]');
    expect(pathOf('{"a":[[0],[1,2,{"b c":-9007199254740993}]]}')).toBe('a[1][2]["b c"]');
    expect(pathOf('9007199254740992')).toBe('the request body');
    expect(pathOf('{"x":"[,{\\"y\\":1}]","n":{"m":[9007199254740992]}}')).toBe('n.m[0]');
  });

  test('passes safe integers, fractions, exponents and digits inside strings', () => {
    expect(pathOf('{"n":9007199254740991,"m":-9007199254740991}')).toBeUndefined();
    expect(pathOf('{"f":12345678901234567890.5,"e":1234567890123456789e3,"s":"123456789012345678901234567890"}')).toBeUndefined();
    expect(pathOf('{"123456789012345678901":1}')).toBeUndefined();
  });
});
