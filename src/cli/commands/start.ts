/**
 * `aries start <workflow>`: starts an execution by workflow name and prints its id; with --wait, waits
 * for it to settle and prints its result. The input is parsed before any database is opened, so a typo
 * in it costs nothing.
 */
import { resolve } from 'node:path';
import { liveHolder } from '../../db/data-dir-lock.js';
import { InvalidInputError } from '../../errors.js';
import { CliError, UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { positiveInt } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries start <workflow>[@version] [options]

Starts an execution of a workflow registered by a worker, and prints its id.

Options:
  --input JSON             the input, as JSON (default: null)
  --idempotency-key K      the same key returns the execution it first started, never a second one
  --version V              the workflow version (default: the most recently registered one)
  --wait                   wait for the execution to settle and print its result
  --timeout-ms N           with --wait: give up after N ms
  --json                   print {id, created[, status, output]} as JSON
  -h, --help               show this help

${CONNECTION_USAGE}
`;

function parseInput(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`--input is not valid JSON: ${(err as Error).message} (input: ${text.slice(0, 80)})`);
  }
}

function splitWorkflow(spec: string, version: string | undefined): { name: string; version: string | undefined } {
  const at = spec.indexOf('@');
  if (at < 0) return { name: spec, version };
  if (version !== undefined) throw new UsageError(`give the version either as ${spec} or with --version, not both`, usage);
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

export default defineCommand({
  usage,
  options: {
    input: { type: 'string' },
    'idempotency-key': { type: 'string' },
    version: { type: 'string' },
    wait: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['workflow'],
  async run({ values, positionals: [spec], connection: connectionOf, openEngine }) {
    const workflow = splitWorkflow(spec, values.version);
    const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms');
    if (timeoutMs !== undefined && !values.wait) throw new UsageError('--timeout-ms needs --wait', usage);
    const input = parseInput(values.input);
    const connection = connectionOf();
    // Only the process holding an embedded data dir can run its executions. With no holder, this command
    // would become the holder and wait for a worker that could never start: fail now instead.
    const noWorker = (dir: string) =>
      new CliError(`--wait: no worker is running on PGlite at ${resolve(dir)}; start \`aries worker <module>\` first`);
    if (values.wait && connection.dataDir !== undefined && !liveHolder(connection.dataDir)) throw noWorker(connection.dataDir);
    const engine = await openEngine();
    if (values.wait && engine.backend === 'pglite') throw noWorker(connection.dataDir!); // its worker just exited
    const handle = await engine.start(workflow.name, input, {
      idempotencyKey: values['idempotency-key'],
      version: workflow.version,
    });
    if (!handle.created && !values.json) {
      process.stderr.write(`aries: idempotency key matched execution ${handle.id}, started earlier\n`);
    }
    if (!values.wait) {
      process.stdout.write(values.json ? `${JSON.stringify({ id: handle.id, created: handle.created })}\n` : `${handle.id}\n`);
      return;
    }
    // With --wait, stdout holds only the result (so it can be piped); the id goes to stderr.
    if (!values.json) process.stderr.write(`aries: execution ${handle.id} started; waiting for its result\n`);
    const output = await handle.result(timeoutMs === undefined ? {} : { timeoutMs });
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ id: handle.id, created: handle.created, status: 'COMPLETED', output: output ?? null })}\n`
        : `${JSON.stringify(output ?? null)}\n`,
    );
  },
});
