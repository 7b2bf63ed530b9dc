/**
 * `aries serve`: the HTTP API (/api, /openapi.json, /metrics) and the dashboard, on an engine opened as
 * other commands open it (on an embedded data dir a worker holds, through that worker's process), until
 * SIGINT or SIGTERM; then the server and the engine close and it exits 0.
 */
import { DEFAULT_PORT } from '../../server/api-server.js';
import { apiAuth, serveApi, servingLine, tlsFiles } from '../api-server-args.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { portNumber } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { untilSignal } from '../until-signal.js';

const usage = `Usage: aries serve [options]

Serves the HTTP API (under /api, described at /openapi.json), Prometheus metrics (/metrics) and the
dashboard until interrupted (SIGINT or SIGTERM). Every API call must carry "Authorization: Bearer
<token>"; without a token the server refuses to start unless --no-auth is given, which is allowed on a
loopback host only.

Options:
  --host H       the address to listen on (default 127.0.0.1)
  --port P       the port (default ${DEFAULT_PORT}; 0: any free port, printed at start)
  --token T      the API token, at least 16 characters (default: $ARIES_API_TOKEN; prefer the
                 variable: a command line is visible to other users of the machine)
  --no-auth      serve without a token (loopback host only)
  --tls-key F    serve HTTPS with this PEM private key (with --tls-cert); without them a
  --tls-cert F   non-loopback --host serves plain HTTP and says so
  -h, --help     show this help

${CONNECTION_USAGE}
`;

export default defineCommand({
  usage,
  options: { host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'no-auth': { type: 'boolean' }, 'tls-key': { type: 'string' }, 'tls-cert': { type: 'string' } },
  async run({ values, connection, openEngine, defer }) {
    const host = values.host ?? '127.0.0.1';
    const port = portNumber(values.port, 'port') ?? DEFAULT_PORT;
    const auth = apiAuth({ host, token: values.token, noAuth: values['no-auth'] });
    const tls = tlsFiles(values['tls-key'], values['tls-cert']);
    connection(); // conflicting database options are a usage error before anything opens

    const signalled = untilSignal();
    const engine = await openEngine('connect');
    const server = await serveApi(engine, { host, port, auth, tls });
    defer(() => server.close());
    process.stdout.write(servingLine(server, engine));

    const signal = await signalled;
    process.stderr.write(`aries: ${signal}: stopping the server\n`);
  },
});
