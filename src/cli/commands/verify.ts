/**
 * `aries verify <module> <workflow>`: the crash harness as a command. It runs the workflow once without a
 * crash, then once per crash point it reaches, each time in a fresh store with a worker process that kills
 * itself at that point and a second one that recovers the execution, and prints whether each recovery was
 * valid (src/verify/). Exit 1 when any was not, so a CI job can run it against a project's workflows.
 */
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import { CRASH_POINTS } from '../../worker/crash-points.js';
import { parsePoints } from '../../verify/crash-cases.js';
import { findWorkflow } from '../../verify/find-workflow.js';
import { embeddedStores, serverStores, type StoreFactory } from '../../verify/isolated-stores.js';
import { runVerify, VerifyError } from '../../verify/run-verify.js';
import { describeReference, describeRow, formatResult, resultJson } from '../../verify/verify-output.js';
import { killWorkers, type VerifySignal } from '../../verify/worker-process.js';
import { CliError, UsageError } from '../cli-error.js';
import { loadWorkflowModules } from '../load-workflow-modules.js';
import { positiveInt } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries verify <module> <workflow>[@version] [options]

Crashes a workflow at every crash point it reaches and checks that each crash is recovered correctly.
First a reference run without a crash records which steps run, which are retried or compensated, and
how the execution ends. Then, for each crash point and step the reference run passed, in a fresh store:
a worker process starts the execution and kills itself (SIGKILL) at that point, and once its lease has
expired a second worker process recovers the execution. Prints a table: crash point, step, whether the
crash happened (reached), the status after recovery, whether the recovery is valid, steps that ran again,
compensations that ran.

A recovery is valid when the execution ends as the reference run did (COMPLETED, COMPENSATED, or FAILED
with its failure recorded), its journal is intact, no completed step ran again (only the step the crash
interrupted, once, with a higher attempt), and compensations ran once each, in reverse completion order;
every wait (ctx.sleep, ctx.waitForSignal, ctx.child) began once and settled once, every signal was
consumed exactly once, by the wait that took it in the reference run, and every child was started once,
its own recovery judged the same way. Crash points in a child's steps are tried too (a crash point names
a step key: one a parent and its child share is crashed wherever it is reached first).

Crash points: ${CRASH_POINTS.join(', ')}.

The workflow runs many times, its steps for real: point them at test services. Verify assumes it takes
the same path whenever it runs with the same input.

Options:
  --input JSON         the execution's input, as JSON (default: null)
  --signal NAME[=JSON] a signal to send the execution once it is WAITING (its payload as JSON; none:
                       null); repeat for more, sent in the order given. Every worker process of a run
                       sends them under the same idempotency keys, so a resend after a crash stores
                       nothing new
  --points P,Q         only these crash points (default: all)
  --steps K,L          only these step keys (default: every step the reference run started)
  --parallel N         crash cases run at once, each in its own store (default 2)
  --timeout-ms N       how long each worker process waits for the execution to come to rest (default 60000)
  --json               print {workflow, reference, rows, valid} as JSON
  -h, --help           show this help

Exit code: 0 when every recovery is valid, 1 when one is not (or a run failed), 2 for a bad command line,
3 when the reference run itself (no crash) ended FAILED: there is nothing valid to compare against.

A module may export \`verifySetup(db)\`: it runs on each fresh store before the workflow first runs
(db.query(sql, params), db.exec(sql)), so a workflow that uses its own tables can be verified.

Stores (verify never opens your own data dir or database):
  --data-dir DIR       embedded PGlite (the default): the per-run data dirs go in a new directory under
                       DIR (default: the system temp dir), removed at the end
  --database-url URL   a PostgreSQL server (default: $DATABASE_URL): one new database per run on it,
                       CREATE DATABASE aries_verify_<random>, dropped at the end (a fresh schema would not
                       do: Aries's schema is always "aries"). The user needs the CREATEDB privilege.
`;

function parseInput(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`--input is not valid JSON: ${(err as Error).message} (input: ${text.slice(0, 80)})`);
  }
}

/** `--signal name` or `--signal name=<json payload>`. */
function parseSignal(text: string): VerifySignal {
  const eq = text.indexOf('=');
  const name = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (name === '') throw new UsageError(`--signal takes NAME or NAME=JSON, got "${text}"`, usage);
  if (eq < 0) return { name };
  try {
    return { name, payload: JSON.parse(text.slice(eq + 1)) as unknown };
  } catch (err) {
    throw new InvalidInputError(`--signal ${name}: the payload is not valid JSON: ${(err as Error).message}`);
  }
}

function splitList(text: string | undefined): string[] | undefined {
  return text?.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Aborts on the first SIGINT or SIGTERM, killing the worker processes, so the stores can be removed. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    process.stderr.write(`aries: ${name}: stopping verify and removing its stores\n`);
    controller.abort(name);
    killWorkers();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export default defineCommand({
  usage,
  options: {
    input: { type: 'string' },
    signal: { type: 'string', multiple: true },
    points: { type: 'string' },
    steps: { type: 'string' },
    parallel: { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['module', 'workflow'],
  async run({ values, positionals: [module, workflowSpec], defer }) {
    const points = values.points === undefined ? undefined : parsePoints(values.points);
    if (typeof points === 'string') throw new UsageError(points, usage);
    const steps = splitList(values.steps);
    const parallel = positiveInt(values.parallel, 'parallel') ?? 2;
    const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms') ?? 60_000;
    if (values['database-url'] !== undefined && values['data-dir'] !== undefined) {
      throw new UsageError('--database-url and --data-dir name two different stores; give one of them', usage);
    }
    const input = parseInput(values.input);
    const signals = (values.signal ?? []).map(parseSignal);
    const databaseUrl = values['database-url'] ?? (values['data-dir'] === undefined ? process.env.DATABASE_URL || undefined : undefined);

    // The module first: a wrong name costs nothing, and the workers load it exactly as this does.
    const modulePath = resolve(module);
    const workflow = findWorkflow(await loadWorkflowModules([module]), workflowSpec, module);

    const say = (line: string) => process.stderr.write(`aries: ${line}\n`);
    const interrupt = interruptible();
    defer(interrupt.dispose);
    try {
      const stores: StoreFactory =
        databaseUrl !== undefined ? await serverStores(databaseUrl) : await embeddedStores(values['data-dir'] ?? tmpdir());
      defer(() => stores.cleanup());
      say(`verifying ${workflow.key} with ${stores.description}`);
      const result = await runVerify({
        modulePath,
        workflow: workflow.key,
        input,
        signals,
        stores,
        points,
        steps,
        parallel,
        timeoutMs,
        signal: interrupt.signal,
        onReference: (reference, cases) => say(`${describeReference(workflow.key, reference)}; ${cases} crash cases to run`),
        onCase: (row, done, total) => say(`[${done}/${total}] ${describeRow(row)}`),
      });
      process.stdout.write(values.json ? resultJson(workflow.key, result) : formatResult(workflow.key, result));
      return result.valid ? 0 : 1;
    } catch (err) {
      if (interrupt.signal.aborted) throw new CliError(`interrupted by ${String(interrupt.signal.reason)}`, { exitCode: 130 });
      if (err instanceof VerifyError) throw new CliError(err.message, { exitCode: err.exitCode });
      throw err;
    }
  },
});
