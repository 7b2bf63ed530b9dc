/**
 * What Aries stores (inputs, step outputs, results) must come back from the journal exactly as it went
 * in, or replay would hand the workflow a different value than the first run did. So values are held to
 * plain JSON: null, booleans, finite numbers, strings, arrays and plain objects. Anything JSON.stringify
 * would silently change (undefined in an array, NaN, a Date, a Map, a class instance) or cannot encode
 * (a function, a symbol, a bigint, a cycle) is refused, naming the path where it was found.
 */
import { NotJsonSerializableError, PayloadTooLargeError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Default limit on one stored value, as JSON text. PostgreSQL's jsonb allows far more; journals that
 *  large make replay and the dashboard slow, so a bigger payload belongs in the user's own storage. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto?.constructor?.name ?? 'object without prototype';
}

// jsonb refuses the NUL character and UTF-16 surrogates that are not part of a pair.
const UNSTORABLE_STRING = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkString(text: string, path: string): void {
  const bad = UNSTORABLE_STRING.exec(text);
  if (bad) {
    const what = bad[0] === '\u0000' ? 'the NUL character \\u0000' : 'a lone UTF-16 surrogate';
    throw new NotJsonSerializableError(path, `it contains ${what} at index ${bad.index}, which PostgreSQL's jsonb cannot store`);
  }
}

/** Deepest nesting of arrays and objects a stored value may have. PostgreSQL's jsonb allows more, but a
 *  value this deep is a mistake or an attack, and every reader that recurses would pay for it. */
export const MAX_JSON_DEPTH = 256;

function checkScalar(value: unknown, path: string): boolean {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return true;
    case 'boolean':
      return true;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonSerializableError(path, `${value} has no JSON form`);
      return true;
    case 'undefined':
      throw new NotJsonSerializableError(path, 'undefined is dropped or turned into null by JSON');
    case 'bigint':
      throw new NotJsonSerializableError(path, 'a bigint has no JSON form (store it as a string)');
    case 'function':
    case 'symbol':
      throw new NotJsonSerializableError(path, `a ${typeof value} has no JSON form`);
    default:
      return value === null;
  }
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Walks the value with an explicit stack rather than recursion, so a deeply nested value is refused with
 * its path instead of overflowing the call stack. `ancestors` holds the objects on the current path
 * (a cycle is an object that is its own ancestor; the same object twice side by side is fine).
 */
function check(root: unknown, rootPath: string): void {
  type Frame = { value: unknown; path: string; depth: number } | { leave: object };
  const stack: Frame[] = [{ value: root, path: rootPath, depth: 0 }];
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      ancestors.delete(frame.leave);
      continue;
    }
    const { value, path, depth } = frame;
    if (checkScalar(value, path)) continue;
    const obj = value as object;
    if (ancestors.has(obj)) throw new NotJsonSerializableError(path, 'it refers to itself (a cycle)');
    if (depth >= MAX_JSON_DEPTH) {
      throw new NotJsonSerializableError(path, `it is nested deeper than ${MAX_JSON_DEPTH} levels, the limit on stored JSON`);
    }
    ancestors.add(obj);
    stack.push({ leave: obj });
    const children: Frame[] = [];
    if (Array.isArray(obj)) {
      obj.forEach((item: unknown, i) => children.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }));
    } else {
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const hint = obj instanceof Date ? ' (store date.toISOString())' : '';
        throw new NotJsonSerializableError(path, `a ${describe(obj)} is not a plain object${hint}`);
      }
      for (const [key, item] of Object.entries(obj)) {
        checkString(key, `${path} (a key)`);
        // undefined properties are dropped by JSON.stringify; allowing them would make the replayed object
        // differ from the original only in `key in obj`, which is a trap rather than a convenience.
        children.push({ value: item, path: childPath(path, key), depth: depth + 1 });
      }
    }
    // reversed, so the first child is checked first and the first fault found is the first in the text
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/** Throws NotJsonSerializableError unless `value` is plain JSON. `path` names the value in messages. */
export function assertJsonValue(value: unknown, path: string): asserts value is JsonValue {
  check(value, path);
}

/**
 * Validates and encodes a value for storage. `undefined` at the top level is allowed (a step that returns
 * nothing) and encodes as SQL NULL, which the journal keeps distinct from JSON null.
 */
export function encodeStored(value: unknown, what: string, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): string | null {
  if (value === undefined) return null;
  assertJsonValue(value, what);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw new PayloadTooLargeError(what, bytes, maxBytes);
  return text;
}

/** JSON with object keys sorted: equal for values jsonb calls equal (key order does not count). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
