/**
 * Errors of the command line itself, as opposed to the engine's (AriesError): a command line that
 * cannot be understood (UsageError, exit 2, shown with the command's usage) and failures the CLI detects
 * on its own (CliError, exit 1), optionally with detail printed below the one-line message.
 */

export class CliError extends Error {
  readonly exitCode: number;
  /** Printed after the message, e.g. the stack of an error thrown by the user's own module. */
  readonly detail: string | undefined;

  constructor(message: string, options: { exitCode?: number; detail?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.detail = options.detail;
  }
}

export class UsageError extends CliError {
  /** The usage text of the command that was misused (set where the command is known). */
  usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message, { exitCode: 2 });
    this.usage = usage;
  }
}
