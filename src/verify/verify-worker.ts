/**
 * A worker process of `aries verify`: opens the store it is given, loads the user's module with the
 * loader `aries worker` uses, optionally starts the execution, and runs a worker until that execution
 * comes to rest (or the wait times out); then it reports the execution (execution-report.ts) and exits 0.
 * With ARIES_CRASH_AT in its environment it dies by SIGKILL at that crash point instead, which is the
 * point: the next worker process must recover what it left.
 *
 * A process that starts the execution first runs the module's `verifySetup(db)` export, if it has one, on
 * the fresh store (db: the engine's query/exec handle), so a workflow that uses its own tables can be verified.
 *
 * The lease is short (1 s) so the next process can claim a killed process's execution soon after; the
 * recovery sweep is off so a FAILED execution stays as its failure left it. With --signals, the process
 * sends the execution those signals as soon as it sees it WAITING (so a signal wait is woken by its
 * signal, as in production, rather than finding it in the mailbox), under idempotency keys that every
 * process of a case shares: a process that resumes after a crash sends them again, and a signal that
 * was already stored is a duplicate, not a second signal.
 *
 *   node dist/verify/verify-worker.js --module <abs path> --workflow <name[@version]>
 *        (--data-dir DIR | --database-url URL) (--start --input JSON | --execution ID) --timeout-ms N
 *        [--signals '[{"name":…,"payload":…}]']
 *
 * Reports are JSON lines on file descriptor 3 ({ event: 'started', executionId } as soon as the execution
 * exists, { event: 'report', settled, resumedFromLsn, report } at the end, resumedFromLsn being the
 * journal's last LSN when a resuming process opened the store); stdout and stderr are the workflow's.
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModuleExport, loadWorkflowModules } from '../cli/load-workflow-modules.js';
import { createEngine } from '../sdk/engine.js';
import type { Engine } from '../sdk/engine.js';
import { newestLsn, readExecutionReport } from './execution-report.js';
import { findWorkflow } from './find-workflow.js';
import type { VerifySignal } from './worker-process.js';

const LEASE_MS = 1_000;
const POLL_INTERVAL_MS = 50;
/** The idempotency key of the one execution a store holds. */
const IDEMPOTENCY_KEY = 'aries-verify';
const EVENTS_FD = 3;
/** The module export run on each fresh store before the workflow: `export async function verifySetup(db)`. */
const VERIFY_SETUP_EXPORT = 'verifySetup';

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
      signals: { type: 'string' },
    },
  });
  const { module, workflow } = values;
  const timeoutMs = Number(values['timeout-ms'] ?? 60_000);
  const store = values['database-url'] ? { databaseUrl: values['database-url'] } : { dataDir: values['data-dir'] };
  if (!module || !workflow || (!store.databaseUrl && !store.dataDir) || (!values.start && !values.execution)) {
    throw new Error('usage: verify-worker --module M --workflow W (--data-dir D | --database-url U) (--start --input J | --execution ID)');
  }
  const input: unknown = values.start ? JSON.parse(values.input ?? 'null') : undefined;
  const signals = JSON.parse(values.signals ?? '[]') as VerifySignal[];
  return { module, workflow, store, start: values.start === true, input, executionId: values.execution, signals, timeoutMs };
}

/**
 * Sends `signals` to the execution the first time it is WAITING, then stops; `stop()` ends the watch.
 * The same idempotency keys in every process: sending again after a crash stores nothing new.
 */
function sendSignalsWhenWaiting(engine: Engine, executionId: string, signals: readonly VerifySignal[]): { stop: () => Promise<void> } {
  let stopped = signals.length === 0;
  let failure: { error: unknown } | undefined;
  const watch = (async () => {
    while (!stopped) {
      const execution = await engine.admin.readExecution(executionId);
      if (execution?.status === 'WAITING') {
        for (const [i, s] of signals.entries()) {
          await engine.signal(executionId, s.name, s.payload, { idempotencyKey: `${IDEMPOTENCY_KEY}:signal:${i + 1}` });
        }
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  })().catch((error: unknown) => {
    // It ended between the read and the send (a wait's timeout, say): there is nothing left to signal.
    if ((error as { code?: unknown }).code !== 'ILLEGAL_TRANSITION') failure = { error };
  });
  return {
    stop: async () => {
      stopped = true;
      await watch;
      if (failure) throw failure.error;
    },
  };
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
    const worker = engine.worker({ workflows, concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: POLL_INTERVAL_MS, schedulerIntervalMs: 0 });
    let executionId = opts.executionId!;
    let resumedFromLsn: number | null = null;
    if (opts.start) {
      // The module's set-up (its own tables, say) on this fresh store, before the workflow first runs;
      // a recovering process finds the store as the set-up and the crashed run left it.
      const setup = await loadModuleExport(opts.module, VERIFY_SETUP_EXPORT);
      if (setup !== undefined) {
        if (typeof setup !== 'function') throw new Error(`${VERIFY_SETUP_EXPORT} in ${opts.module} is not a function`);
        await (setup as (db: Engine['db']) => unknown)(engine.db);
      }
      executionId = (await engine.start(workflow, opts.input, { idempotencyKey: IDEMPOTENCY_KEY })).id;
      emit({ event: 'started', executionId });
    } else {
      // Where the journals (the execution's and its children's) stood when this process took over: what the crash left.
      resumedFromLsn = newestLsn(await readExecutionReport(engine, executionId));
    }
    await worker.start();
    const sender = sendSignalsWhenWaiting(engine, executionId, opts.signals);
    let settled = true;
    try {
      await engine.handle(executionId).result({ timeoutMs: opts.timeoutMs });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'TIMEOUT') settled = false;
      else if (code !== 'EXECUTION_FAILED' && code !== 'EXECUTION_COMPENSATED') throw err;
    } finally {
      await sender.stop();
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
