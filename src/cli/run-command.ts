/**
 * What every command does around its own work, in one place: parse the command line (its options, --help
 * and the connection options), print the usage for --help, check the positionals, run the command's body,
 * and close whatever the body opened (an engine, a server, temporary stores) in reverse order, however it
 * ends. The body checks its own option values before it opens anything, so a typo costs no database.
 */
import type { ConnectionOptions } from '../db/open-database.js';
import type { Engine } from '../sdk/engine.js';
import type { Command } from './command.js';
import { connectionFrom, openEngine } from './connection-args.js';
import {
  expectPositionals,
  parseCommandArgs,
  type OptionSpecs,
  type OptionValues,
  type SharedOptions,
} from './parse-command-args.js';

/** Names of the positionals a command takes, exactly these; 'any' leaves checking them to the body. */
type PositionalSpec = readonly string[] | 'any';

type Positionals<N extends PositionalSpec> = N extends readonly string[] ? { -readonly [K in keyof N]: string } : string[];

export interface CommandContext<T extends OptionSpecs, N extends PositionalSpec> {
  values: OptionValues<SharedOptions & T>;
  positionals: Positionals<N>;
  /** The database the command line names (connection-args.ts); a conflict is reported when first asked. */
  connection(): ConnectionOptions;
  /**
   * An engine on `connection` (default: connection()), closed when the command ends. Commands 'connect'
   * (through the process holding an embedded data dir); a worker holds the data dir itself ('error').
   */
  openEngine(ifDataDirHeld?: 'connect' | 'error', connection?: ConnectionOptions): Promise<Engine>;
  /** Runs `close` when the command ends, successfully or not (the last deferred runs first). */
  defer(close: () => unknown): void;
}

export interface CommandSpec<T extends OptionSpecs, N extends PositionalSpec> {
  usage: string;
  options?: T;
  /** Default: none. */
  positionals?: N;
  /** Resolves to the exit code (default 0); errors go to report-error.ts. */
  run(context: CommandContext<T, N>): Promise<number | void>;
}

export function defineCommand<const T extends OptionSpecs = Record<never, never>, const N extends PositionalSpec = []>(
  spec: CommandSpec<T, N>,
): Command {
  const { usage } = spec;
  return {
    usage,
    async run(argv) {
      const { values, positionals } = parseCommandArgs(argv, spec.options ?? ({} as T), usage);
      if (values.help) {
        process.stdout.write(usage);
        return 0;
      }
      const names = spec.positionals ?? [];
      if (names !== 'any') expectPositionals(positionals, [...names], usage);

      // Seen as the options every command has (a command's own spec never redefines them).
      const shared = values as OptionValues<SharedOptions>;
      const closers: (() => unknown)[] = [];
      const context: CommandContext<T, N> = {
        values,
        positionals: positionals as Positionals<N>,
        connection: () => connectionFrom(shared),
        async openEngine(ifDataDirHeld = 'connect', connection = connectionFrom(shared)) {
          const engine = await openEngine(connection, ifDataDirHeld);
          closers.push(() => engine.close());
          return engine;
        },
        defer: (close) => void closers.push(close),
      };
      let code: number;
      try {
        code = (await spec.run(context)) ?? 0;
      } catch (err) {
        // The command's own error is the one reported, not a close that failed after it.
        await closeAll(closers).catch(() => {});
        throw err;
      }
      await closeAll(closers);
      return code;
    },
  };
}

/** Runs every closer, the last added first; throws the first error once all have run. */
async function closeAll(closers: (() => unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}
