/** Reading query parameters, each refusal naming the parameter and what it must be (422 INVALID_INPUT). */
import { InvalidInputError } from '../errors.js';

/** PostgreSQL text cannot hold U+0000: refuse it here, naming where, rather than fail in the database. */
function refuseNul(value: string, where: string, details: Record<string, unknown>): string {
  if (value.includes('\u0000')) throw new InvalidInputError(`${where} contains a NUL character (U+0000), which cannot be stored`, details);
  return value;
}

export function optionalString(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null || value === '' ? undefined : refuseNul(value, `query parameter ${name}`, { parameter: name });
}

export function optionalInt(query: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = optionalString(query, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < min || n > max) {
    throw new InvalidInputError(`query parameter ${name} must be an integer from ${min} to ${max}; got "${raw}"`, { parameter: name });
  }
  return n;
}

export function optionalDate(query: URLSearchParams, name: string): Date | undefined {
  const raw = optionalString(query, name);
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new InvalidInputError(`query parameter ${name} must be an ISO-8601 time; got "${raw}"`, { parameter: name });
  }
  return date;
}

export function optionalEnum<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const raw = optionalString(query, name);
  if (raw === undefined) return undefined;
  const upper = raw.toUpperCase();
  if (!(allowed as readonly string[]).includes(upper)) {
    throw new InvalidInputError(`query parameter ${name} must be one of ${allowed.join(', ')}; got "${raw}"`, { parameter: name });
  }
  return upper as T;
}

export function optionalBoolean(query: URLSearchParams, name: string): boolean | undefined {
  const raw = optionalString(query, name);
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InvalidInputError(`query parameter ${name} must be true or false; got "${raw}"`, { parameter: name });
}

/** A body field that must be a string when present. */
export function bodyString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`${name} must be a string`, { field: name });
  return refuseNul(value, name, { field: name });
}

/** A body field that must be a boolean when present. */
export function bodyBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new InvalidInputError(`${name} must be true or false`, { field: name });
  return value;
}

/** A body field that must be a number when present (the engine checks its range and says why). */
export function bodyNumber(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new InvalidInputError(`${name} must be a number`, { field: name });
  return value;
}

/** Refuses a body naming a field the route does not take, so a misspelt setting is not silently ignored. */
export function refuseUnknownFields(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    const takes = known.length === 0 ? 'this call takes no body fields' : `this call takes ${known.join(', ')}`;
    throw new InvalidInputError(`unknown field "${unknown}"; ${takes}`, { field: unknown });
  }
}
