/**
 * What each file under commands/ exports by default (run-command.ts builds it): its help text and how it
 * runs, resolving to an exit code.
 */
export interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}
