/**
 * Errors of the infrastructure that go away by themselves: a dropped or refused connection, a
 * serialization failure or deadlock, a server shutting down or out of connections. An operation that
 * failed with one of these is worth trying again; anything else would fail the same way next time.
 */

/** SQLSTATEs (or their two-character classes) that are transient. */
const TRANSIENT_SQLSTATES = ['08', '40001', '40P01', '57P01', '57P02', '57P03', '53300'];

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

const TRANSIENT_MESSAGES = [/Connection terminated/i, /connection (is )?closed/i, /Client has encountered a connection error/i];

/** Whether `err` (or an error in its cause chain) has one of `codes`, a SQLSTATE starting with one of
 *  `sqlstates`, or a message of a dropped connection. */
function matches(err: unknown, codes: ReadonlySet<string>, sqlstates: readonly string[]): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (codes.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && sqlstates.some((s) => code.startsWith(s))) return true;
  }
  const message = (err as { message?: unknown }).message;
  if (typeof message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(message))) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && matches(cause, codes, sqlstates);
}

export function isTransientError(err: unknown): boolean {
  return matches(err, TRANSIENT_NETWORK_CODES, TRANSIENT_SQLSTATES);
}

const NETWORK_SQLSTATES = ['08', '57P01', '57P02', '57P03'];

/** A transient error of the connection itself (as opposed to a serialization failure or a deadlock). */
export function isNetworkError(err: unknown): boolean {
  return matches(err, TRANSIENT_NETWORK_CODES, NETWORK_SQLSTATES);
}
