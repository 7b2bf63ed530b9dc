/**
 * `aries start <workflow>`: starts an execution by workflow name and prints its id; with --wait, waits
 * for it to settle and prints its result. The input is parsed before any database is opened, so a typo
 * in it costs nothing. With --batch, starts one execution per JSON line read from stdin, in batches
 * (engine.startMany), printing one id per line in the order read.
 */
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { liveHolder } from '../../db/data-dir-lock.js';
import { InvalidInputError } from '../../errors.js';
import type { Engine } from '../../sdk/engine.js';
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
  --batch                  read JSON lines from stdin, each {"input": …, "idempotencyKey": "…"} (both
                           optional), and start one execution per line, --batch-size at a time (each batch
                           all or nothing); prints one id (--json: {id, created}) per line, in order
  --batch-size N           lines per batch with --batch (default 1000, at most 10000)
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
    batch: { type: 'boolean' },
    'batch-size': { type: 'string' },
  },
  positionals: ['workflow'],
  async run({ values, positionals: [spec], connection: connectionOf, openEngine }) {
    const workflow = splitWorkflow(spec, values.version);
    if (values.batch) {
      for (const flag of ['input', 'idempotency-key', 'wait', 'timeout-ms'] as const) {
        if (values[flag] !== undefined) throw new UsageError(`--batch reads inputs and keys from stdin: --${flag} does not go with it`, usage);
      }
      const size = positiveInt(values['batch-size'], 'batch-size') ?? 1000;
      if (size > MAX_BATCH) throw new UsageError(`--batch-size is at most ${MAX_BATCH}`, usage);
      await startBatches(await openEngine(), workflow, size, values.json ?? false);
      return;
    }
    if (values['batch-size'] !== undefined) throw new UsageError('--batch-size needs --batch', usage);
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

const MAX_BATCH = 10_000;

interface BatchItem {
  input: unknown;
  idempotencyKey: string | null;
  /** Its line on stdin, from 1. */
  line: number;
}

/** One stdin line as a batch item, or an error naming the line. */
function parseItem(line: string, lineNo: number): BatchItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new InvalidInputError(`stdin line ${lineNo} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError(`stdin line ${lineNo} must be an object {"input": …, "idempotencyKey": "…"}`);
  }
  const { input, idempotencyKey, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new InvalidInputError(`stdin line ${lineNo}: unknown field "${unknown}" (a line has input and idempotencyKey)`);
  if (idempotencyKey !== undefined && idempotencyKey !== null && typeof idempotencyKey !== 'string') {
    throw new InvalidInputError(`stdin line ${lineNo}: idempotencyKey must be a string`);
  }
  return { input: input ?? null, idempotencyKey: (idempotencyKey as string | null | undefined) ?? null, line: lineNo };
}

async function startBatches(
  engine: Engine,
  workflow: { name: string; version: string | undefined },
  size: number,
  json: boolean,
): Promise<void> {
  let pending: BatchItem[] = [];
  let started = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const keys = pending.map((item) => item.idempotencyKey);
    try {
      const handles = await engine.startMany(
        workflow.name,
        pending.map((item) => item.input),
        { version: workflow.version, ...(keys.some((k) => k !== null) ? { idempotencyKeys: keys } : {}) },
      );
      process.stdout.write(handles.map((h) => (json ? JSON.stringify({ id: h.id, created: h.created }) : h.id)).join('\n') + '\n');
      started += handles.length;
    } catch (err) {
      const range = `stdin lines ${pending[0]!.line}–${pending.at(-1)!.line}`;
      if (err instanceof Error) err.message = `${range} (nothing of them started; ${started} line(s) before them were): ${err.message}`;
      throw err;
    }
    pending = [];
  };
  let lineNo = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    pending.push(parseItem(line, lineNo));
    if (pending.length >= size) await flush();
  }
  await flush();
}
