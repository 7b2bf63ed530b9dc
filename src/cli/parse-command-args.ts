/**
 * node:util parseArgs with the options every command shares (--help, the connection options), its
 * errors turned into UsageErrors, and the small value checks commands need (integers, positionals).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';
import { CONNECTION_OPTIONS } from './connection-args.js';

/** `multiple`: a string option that may be given more than once (its values in the order given). */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** The parsed values of a spec: strings, lists of strings and booleans, each absent when not given. */
export type OptionValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : T[K] extends { multiple: true } ? string[] : string;
};

export const SHARED_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  ...CONNECTION_OPTIONS,
} as const satisfies OptionSpecs;

export type SharedOptions = typeof SHARED_OPTIONS;

export function parseCommandArgs<const T extends OptionSpecs>(
  argv: string[],
  options: T,
  usage: string,
): { values: OptionValues<typeof SHARED_OPTIONS & T>; positionals: string[] } {
  try {
    const config = { args: argv, options: { ...SHARED_OPTIONS, ...options }, allowPositionals: true, strict: true };
    const { values, positionals } = parseArgs(config satisfies ParseArgsConfig);
    return { values: values as OptionValues<typeof SHARED_OPTIONS & T>, positionals };
  } catch (err) {
    // parseArgs reports unknown options and missing values as TypeErrors with an ERR_PARSE_ARGS_* code.
    if ((err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((err as Error).message, usage);
    }
    throw err;
  }
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}

/** A TCP port: 0 (any free port) to 65535. */
export function portNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`--${flag} must be a port number from 0 to 65535 (0: any free port), got "${value}"`);
  }
  return Number(value);
}

/** Exactly `count` positionals, named in the message when some are missing or extra. */
export function expectPositionals(positionals: string[], names: string[], usage: string): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(positionals.length).map((n) => `<${n}>`).join(' ')}`, usage);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length]}"`, usage);
  }
  return positionals;
}

/** A positive integer or `none` (null: remove the limit); undefined when not given. */
export function positiveIntOrNone(value: string | undefined, flag: string): number | null | undefined {
  if (value === 'none') return null;
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647) {
    throw new UsageError(`--${flag} must be a positive integer or none, got "${value}"`);
  }
  return Number(value);
}

/**
 * The subcommand of a command that has several (`aries queue list`): the first positional, one of
 * `names`, and the positionals after it.
 */
export function subcommand<const S extends string>(positionals: string[], names: readonly S[], usage: string): [S, string[]] {
  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError(`missing subcommand: one of ${names.join(', ')}`, usage);
  if (!(names as readonly string[]).includes(first)) {
    throw new UsageError(`unknown subcommand "${first}": one of ${names.join(', ')}`, usage);
  }
  return [first as S, rest];
}

/** Refuses options that belong to other subcommands than the one given. */
export function refuseOptions(values: Record<string, unknown>, flags: readonly string[], sub: string, usage: string): void {
  const given = flags.find((f) => values[f] !== undefined);
  if (given !== undefined) throw new UsageError(`--${given} does not apply to "${sub}"`, usage);
}
