/**
 * `aries dev <module...>`: everything a developer needs in one process: a worker for the workflows the
 * modules export, and the API and dashboard on the same engine. It holds its database like `aries worker`
 * (an embedded data dir another process holds is an error). Without a configured token it makes one up
 * and prints the dashboard's URL with the token in the fragment (#token=…), which a browser never sends
 * to the server, so it stays out of request logs.
 */
import { DEFAULT_PORT } from '../../server/api-server.js';
import { UsageError } from '../cli-error.js';
import { apiAuth, serveApi, servingLine } from '../api-server-args.js';
import { CONNECTION_USAGE, connectionFrom, describeBackend } from '../connection-args.js';
import { loadWorkflowModules } from '../load-workflow-modules.js';
import { portNumber } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { untilSignal } from '../until-signal.js';

const usage = `Usage: aries dev <module...> [options]

Runs, in one process, a worker for the workflows the modules export (as "aries worker" does) and the
HTTP API and dashboard (as "aries serve" does, on 127.0.0.1), until interrupted (SIGINT or SIGTERM stops
the worker gracefully, then the server).

The API token is $ARIES_API_TOKEN if set; otherwise a new one is made up for this run and printed, with
the dashboard URL that carries it (http://127.0.0.1:${DEFAULT_PORT}/#token=...).

Options:
  --port P       the port (default ${DEFAULT_PORT}; 0: any free port, printed at start)
  --no-auth      serve without a token
  -h, --help     show this help

Database: the embedded data dir .aries in the current directory, unless --database-url URL or
--data-dir DIR is given ($DATABASE_URL is not used: a development worker should not join the workers of
the database your shell points at).
`;

const HOST = '127.0.0.1';

export default defineCommand({
  usage,
  options: { port: { type: 'string' }, 'no-auth': { type: 'boolean' } },
  positionals: 'any',
  async run({ values, positionals, openEngine, defer }) {
    if (positionals.length === 0) throw new UsageError('name at least one module that exports workflows', usage);
    const port = portNumber(values.port, 'port') ?? DEFAULT_PORT;
    const auth = apiAuth({ host: HOST, noAuth: values['no-auth'], generate: true });
    const connection = connectionFrom(values, {}); // conflicting options are a usage error before any module loads

    const signalled = untilSignal();
    // Modules first: a module that fails to load should not first open (or create) a database.
    const workflows = await loadWorkflowModules(positionals);
    const engine = await openEngine('error', connection);
    const worker = engine.worker({ workflows });
    await worker.start();
    const server = await serveApi(engine, { host: HOST, port, auth });
    defer(() => server.close());
    const keys = workflows.map((w) => w.key).join(', ');
    process.stdout.write(`aries: worker ${worker.id} running workflows ${keys} on ${describeBackend(engine)}\n`);
    process.stdout.write(servingLine(server, engine));
    if (auth.generated) {
      process.stdout.write(
        `aries: dashboard: ${server.url}/#token=${auth.token}\n` +
          `aries: API token for this run: ${auth.token} (curl -H "Authorization: Bearer ${auth.token}" ${server.url}/api/health)\n`,
      );
    } else if (auth.token !== undefined) {
      process.stdout.write(`aries: dashboard: ${server.url}/ (sign in with $ARIES_API_TOKEN)\n`);
    }

    const signal = await signalled;
    process.stderr.write(`aries: ${signal}: stopping worker ${worker.id} (running steps finish first), then the server\n`);
    await worker.stop();
    process.stdout.write(`aries: worker ${worker.id} stopped\n`);
  },
});
