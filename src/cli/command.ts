/** What each file under commands/ exports: its help text and how it runs (resolving to an exit code). */
export interface CommandModule {
  usage: string;
  run(argv: string[]): Promise<number>;
}
