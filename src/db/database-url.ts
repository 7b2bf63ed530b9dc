/** Parsing and redacting DATABASE_URL values, so a malformed one gets a clear error before any I/O. */
import { InvalidDatabaseUrlError } from '../errors.js';

export function validateDatabaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidDatabaseUrlError(
      `database URL "${redactUrl(url)}" is malformed; expected postgres://user[:password]@host[:port]/database`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidDatabaseUrlError(
      `database URL "${redactUrl(url)}" has scheme "${parsed.protocol.replace(/:$/, '')}"; expected postgres:// or postgresql://`,
    );
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new InvalidDatabaseUrlError(`database URL "${redactUrl(url)}" names no host`);
  }
  return parsed;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
