/**
 * `aries worker <module...>`: runs the workflows the modules export until SIGINT or SIGTERM, then stops
 * gracefully (running executions finish their current step and are handed back) and exits 0. On the
 * embedded backend this process holds the data dir, and other commands reach it through this process; a
 * data dir already held by another live process is an error here, never a second opener.
 */
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE, connectionFrom, describeBackend, openEngine } from '../connection-args.js';
import { loadWorkflowModules } from '../load-workflow-modules.js';
import { parseCommandArgs, positiveInt } from '../parse-command-args.js';

export const usage = `Usage: aries worker <module...> [options]

Runs the workflows exported by the modules (JavaScript or TypeScript; named exports, the default
export, or arrays of workflows) until interrupted (SIGINT or SIGTERM stops it gracefully).

Options:
  --concurrency N      executions run at once (default 10)
  --lease-ms N         how long a claim lasts without renewal (default 15000)
  -h, --help           show this help

${CONNECTION_USAGE}
`;

/** Resolves at the first SIGINT or SIGTERM; a second one exits at once without waiting for steps. */
function untilSignal(): Promise<NodeJS.Signals> {
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

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { concurrency: { type: 'string' }, 'lease-ms': { type: 'string' } },
    usage,
  );
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('name at least one module that exports workflows', usage);
  const concurrency = positiveInt(values.concurrency, 'concurrency');
  const leaseMs = positiveInt(values['lease-ms'], 'lease-ms');
  const connection = connectionFrom(values);

  // Listen before anything slow, so a signal during startup also stops the worker cleanly.
  const signalled = untilSignal();
  // Modules first: a module that fails to load should not first open (or create) a database.
  const workflows = await loadWorkflowModules(positionals);
  const engine = await openEngine(connection, 'error');
  try {
    const worker = engine.worker({ workflows, concurrency, leaseMs });
    await worker.start();
    const keys = workflows.map((w) => w.key).join(', ');
    process.stdout.write(`aries worker ${worker.id} running workflows ${keys} on ${describeBackend(engine)}\n`);

    const signal = await signalled;
    process.stderr.write(`aries: ${signal}: stopping worker ${worker.id} (running steps finish first)\n`);
    await worker.stop();
    process.stdout.write(`aries worker ${worker.id} stopped\n`);
  } finally {
    await engine.close();
  }
  return 0;
}
