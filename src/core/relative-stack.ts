/**
 * A stack trace as it is stored: the working directory's absolute path taken out of every frame, so a
 * stored stack names `src/pay.ts:12:5` instead of the machine's layout (`/home/deploy/app/src/pay.ts`).
 * Frames outside the working directory (node: internals, a global install) are kept as they are.
 */
import { sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export function relativeStack(stack: string, cwd: string = process.cwd()): string {
  if (cwd === '' || cwd === sep) return stack;
  const dir = cwd.endsWith(sep) ? cwd : cwd + sep;
  // ESM frames name file URLs; the URL form first, since it contains the plain path
  const url = pathToFileURL(dir).href;
  return stack.split(url).join('').split(dir).join('');
}
