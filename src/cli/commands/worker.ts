/**
 * `aries worker <module...>`: runs the workflows the modules export until SIGINT or SIGTERM, then stops
 * gracefully (running executions finish their current step and are handed back) and exits 0. On the
 * embedded backend this process holds the data dir, and other commands reach it through this process; a
 * data dir already held by another live process is an error here, never a second opener.
 */
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE, describeBackend } from '../connection-args.js';
import { loadWorkflowModules } from '../load-workflow-modules.js';
import { positiveInt } from '../parse-command-args.js';
import { openWithRetry } from '../open-with-retry.js';
import { defineCommand } from '../run-command.js';
import { untilSignal } from '../until-signal.js';

const usage = `Usage: aries worker <module...> [options]

Runs the workflows exported by the modules (JavaScript or TypeScript; named exports, the default
export, or arrays of workflows) until interrupted (SIGINT or SIGTERM stops it gracefully).

Options:
  --concurrency N      executions run at once (default 10)
  --lease-ms N         how long a claim lasts without renewal (default 15000)
  --connect-retry-ms N while the database refuses connections or is starting up, try again with
                       backoff for this long (default 60000; 0: fail at once); a wrong role,
                       password or database fails at once
  -h, --help           show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { concurrency: { type: 'string' }, 'lease-ms': { type: 'string' }, 'connect-retry-ms': { type: 'string' } },
  positionals: 'any',
  async run({ positionals, values, connection, openEngine }) {
    if (positionals.length === 0) throw new UsageError('name at least one module that exports workflows', usage);
    const concurrency = positiveInt(values.concurrency, 'concurrency');
    const leaseMs = positiveInt(values['lease-ms'], 'lease-ms');
    const connectRetryMs = values['connect-retry-ms'] === '0' ? 0 : (positiveInt(values['connect-retry-ms'], 'connect-retry-ms') ?? 60_000);
    connection(); // a conflicting --database-url and --data-dir is a usage error before any module loads

    const signalled = untilSignal();
    // Modules first: a module that fails to load should not first open (or create) a database.
    const workflows = await loadWorkflowModules(positionals);
    const engine = await openWithRetry(() => openEngine('error'), { maxMs: connectRetryMs });
    const worker = engine.worker({ workflows, concurrency, leaseMs });
    await worker.start();
    const keys = workflows.map((w) => w.key).join(', ');
    process.stdout.write(`aries worker ${worker.id} running workflows ${keys} on ${describeBackend(engine)}\n`);

    const signal = await signalled;
    process.stderr.write(`aries: ${signal}: stopping worker ${worker.id} (running steps finish first)\n`);
    await worker.stop();
    process.stdout.write(`aries worker ${worker.id} stopped\n`);
  },
});
