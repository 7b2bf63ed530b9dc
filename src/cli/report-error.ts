/**
 * How a failed command ends: `aries: <message>` on stderr and an exit code (2 for a command line that
 * cannot be understood, 1 for everything else). An AriesError is the engine explaining itself, so it is
 * shown with its code and never with a stack; other errors show a stack only when ARIES_DEBUG is set.
 */
import { AriesError } from '../errors.js';
import { CliError, UsageError } from './cli-error.js';

/**
 * True for AriesError and its subclasses, also from another copy of the module (a workflow module
 * that imports Aries from a different path than this CLI does).
 */
export function isAriesError(err: unknown): err is AriesError {
  if (err instanceof AriesError) return true;
  for (let p = err === null || typeof err !== 'object' ? null : Object.getPrototypeOf(err); p; p = Object.getPrototypeOf(p)) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'AriesError') return true;
  }
  return false;
}

export function reportError(err: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (err instanceof UsageError) {
    write(`aries: ${err.message}\n`);
    if (err.usage) write(`\n${err.usage}`);
    return err.exitCode;
  }
  if (isAriesError(err)) {
    write(`aries: ${err.code}: ${err.message}\n`);
    return 1;
  }
  if (err instanceof CliError) {
    write(`aries: ${err.message}\n`);
    if (err.detail) write(`${err.detail}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`aries: ${message}\n`);
  if (process.env.ARIES_DEBUG && err instanceof Error && err.stack) write(`${err.stack}\n`);
  return 1;
}
