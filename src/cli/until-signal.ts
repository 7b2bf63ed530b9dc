/**
 * How the long-running commands (worker, serve, dev) end: the first SIGINT or SIGTERM starts a graceful
 * stop; a second one exits at once, for an operator who will not wait for running steps to finish.
 */

/** Resolves at the first SIGINT or SIGTERM. Listen before anything slow, so a signal during startup counts. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      const again = () => {
        process.stderr.write('aries: interrupted again; exiting without waiting for running steps\n');
        process.exit(1);
      };
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}
