/**
 * JSON.parse turns an integer literal beyond ±(2^53 − 1) into the nearest double without a word
 * (123456789012345678901234567890 becomes 1.2345678901234568e+29), so a request body would be stored as
 * something other than what the client sent. This scan reads the body's text, which JSON.parse has already
 * accepted, and names the path of the first such literal; the caller refuses the request. A number with a
 * fraction or an exponent is a double on both sides and passes.
 */
import { NotJsonSerializableError } from '../errors.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

interface Container {
  kind: 'object' | 'array';
  path: string;
  /** The key of the member being read (objects) or the element's index (arrays). */
  key: string | null;
  index: number;
}

function memberPath(parent: Container | undefined, rootPath: string): string {
  if (!parent) return rootPath;
  if (parent.kind === 'array') return `${parent.path}[${parent.index}]`;
  const key = parent.key ?? '';
  const prefix = parent.path === '' ? '' : parent.path;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return prefix === '' ? key : `${prefix}.${key}`;
  return `${prefix}[${JSON.stringify(key)}]`;
}

/** Throws NotJsonSerializableError naming the path of the first unsafe integer literal in `text` (valid JSON). */
export function refuseUnsafeIntegers(text: string): void {
  // fast path: no run of 16 digits, no integer beyond 2^53 (which has 16 digits)
  if (!/\d{16}/.test(text)) return;
  const stack: Container[] = [];
  let expectingKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && expectingKey) {
        top.key = JSON.parse(text.slice(i, j + 1)) as string;
        expectingKey = false;
      }
      i = j + 1;
    } else if (c === '{' || c === '[') {
      const path = memberPath(stack[stack.length - 1], '');
      stack.push({ kind: c === '{' ? 'object' : 'array', path, key: null, index: 0 });
      expectingKey = c === '{';
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index++;
      else expectingKey = true;
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))!;
      const literal = match[0];
      if (match[1] === undefined && match[2] === undefined && literal.replace('-', '').length >= 16) {
        const value = BigInt(literal);
        if (value > MAX_SAFE || value < -MAX_SAFE) {
          const path = memberPath(stack[stack.length - 1], 'the request body');
          throw new NotJsonSerializableError(
            path,
            `the integer ${literal} is beyond ±(2^53 − 1) and would not be stored exactly (send it as a string)`,
          );
        }
      }
      i += literal.length;
    } else {
      i++;
    }
  }
}
