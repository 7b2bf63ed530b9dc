/**
 * A worker process of `aries verify`: opens the store it is given, loads the user's module with the
 * loader `aries worker` uses, optionally starts the execution, and runs a worker until that execution
 * comes to rest (or the wait times out); then it reports the execution (execution-report.ts) and exits 0.
 * With ARIES_CRASH_AT in its environment it dies by SIGKILL at that crash point instead, which is the
 * point: the next worker process must recover what it left.
 *
 * The lease is short (1 s) so the next process can claim a killed process's execution soon after; the
 * recovery sweep is off so a FAILED execution stays as its failure left it.
 *
 *   node dist/verify/verify-worker.js --module <abs path> --workflow <name[@version]>
 *        (--data-dir DIR | --database-url URL) (--start --input JSON | --execution ID) --timeout-ms N
 *
 * Reports are JSON lines on file descriptor 3 ({ event: 'started', executionId } as soon as the execution
 * exists, { event: 'report', settled, resumedFromLsn, report } at the end, resumedFromLsn being the
 * journal's last LSN when a resuming process opened the store); stdout and stderr are the workflow's.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadWorkflowModules } from '../cli/load-workflow-modules.js';
import { createEngine } from '../sdk/engine.js';
import { readExecutionReport } from './execution-report.js';
import { findWorkflow } from './find-workflow.js';

const LEASE_MS = 1_000;
const POLL_INTERVAL_MS = 50;
/** The idempotency key of the one execution a store holds. */
const IDEMPOTENCY_KEY = 'aries-verify';
const EVENTS_FD = 3;

/** Writes a whole line to the events pipe; the pipe may be non-blocking, so a full one is waited out. */
function emit(event: Record<string, unknown>): void {
  let buf = Buffer.from(`${JSON.stringify(event)}\n`);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(EVENTS_FD, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

function options() {
  const { values } = parseArgs({
    options: {
      module: { type: 'string' },
      workflow: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      start: { type: 'boolean' },
      input: { type: 'string' },
      execution: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const { module, workflow } = values;
  const timeoutMs = Number(values['timeout-ms'] ?? 60_000);
  const store = values['database-url'] ? { databaseUrl: values['database-url'] } : { dataDir: values['data-dir'] };
  if (!module || !workflow || (!store.databaseUrl && !store.dataDir) || (!values.start && !values.execution)) {
    throw new Error('usage: verify-worker --module M --workflow W (--data-dir D | --database-url U) (--start --input J | --execution ID)');
  }
  const input: unknown = values.start ? JSON.parse(values.input ?? 'null') : undefined;
  return { module, workflow, store, start: values.start === true, input, executionId: values.execution, timeoutMs };
}

async function main(): Promise<void> {
  const opts = options();
  const workflows = await loadWorkflowModules([opts.module]);
  const workflow = findWorkflow(workflows, opts.workflow, opts.module);
  const engine = await createEngine({
    ...opts.store,
    vacuumIntervalMs: 0,
    onError: (err, context) => process.stderr.write(`aries verify worker ${process.pid}: ${context}: ${String(err)}\n`),
  });
  try {
    const worker = engine.worker({ workflows, concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: POLL_INTERVAL_MS, recoverySweepMs: 0 });
    let executionId = opts.executionId!;
    let resumedFromLsn: number | null = null;
    if (opts.start) {
      executionId = (await engine.start(workflow, opts.input, { idempotencyKey: IDEMPOTENCY_KEY })).id;
      emit({ event: 'started', executionId });
    } else {
      // Where the journal stood when this process took over: what the crash left.
      resumedFromLsn = (await engine.admin.readJournal(executionId)).records.at(-1)?.lsn ?? null;
    }
    await worker.start();
    let settled = true;
    try {
      await engine.handle(executionId).result({ timeoutMs: opts.timeoutMs });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'TIMEOUT') settled = false;
      else if (code !== 'EXECUTION_FAILED' && code !== 'EXECUTION_COMPENSATED') throw err;
    }
    await worker.stop();
    emit({ event: 'report', settled, resumedFromLsn, report: await readExecutionReport(engine, executionId) });
  } finally {
    await engine.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`aries verify worker ${process.pid} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
