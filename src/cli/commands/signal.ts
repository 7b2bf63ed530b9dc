/**
 * `aries signal <execution-id> <name>`: puts a signal in an execution's mailbox (engine.signal), where a
 * wait for that name (ctx.waitForSignal) takes it, now or later. Prints the signal's id and whether an
 * idempotency key made it a duplicate (then nothing new is stored). The id, the name and the payload are
 * checked before any database is opened; an unknown execution is EXECUTION_NOT_FOUND, a finished one
 * ILLEGAL_TRANSITION (exit 1).
 */
import { isUuid } from '../../db/executions.js';
import { ExecutionNotFoundError, InvalidInputError } from '../../errors.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatFields } from '../format-table.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries signal <execution-id> <name> [options]

Puts a signal named <name> in the mailbox of an execution. A wait for that name (ctx.waitForSignal)
takes the oldest signal of its name, now if the execution waits for it, or when it first waits. An
unknown execution, or one that is finished (COMPLETED, COMPENSATED, CANCELLED), is refused.

Options:
  --payload JSON          the signal's payload, as JSON (default: none)
  --idempotency-key K     the same key again stores nothing and reports the signal it first sent
  --json                  print {executionId, name, signalId, duplicate} as JSON
  -h, --help              show this help

${CONNECTION_USAGE}
`;

/** undefined when not given: the signal then has no payload. */
function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`--payload is not valid JSON: ${(err as Error).message} (payload: ${text.slice(0, 80)})`, { field: 'payload' });
  }
}

export default defineCommand({
  usage,
  options: { payload: { type: 'string' }, 'idempotency-key': { type: 'string' }, json: { type: 'boolean' } },
  positionals: ['execution-id', 'name'],
  async run({ values, positionals: [id, name], openEngine }) {
    if (!isUuid(id)) throw new ExecutionNotFoundError(`execution ${id} not found: it is not an execution id (a UUID)`);
    if (name === '') throw new InvalidInputError('<name> must not be empty: a signal needs a name', { field: 'name' });
    const payload = parsePayload(values.payload);
    const idempotencyKey = values['idempotency-key'];
    const engine = await openEngine();
    const { signalId, duplicate } = await engine.signal(id, name, payload, { idempotencyKey });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ executionId: id, name, signalId, duplicate })}\n`);
      return;
    }
    const headline = duplicate
      ? `idempotency key ${JSON.stringify(idempotencyKey)} matched signal ${signalId}, sent earlier: nothing sent again`
      : `sent signal ${JSON.stringify(name)} to execution ${id}`;
    process.stdout.write(`${headline}\n${formatFields([['signal', signalId], ['duplicate', duplicate ? 'yes' : 'no']])}`);
  },
});
