/**
 * A worker process of the crash demo: holds the demo's embedded data dir and runs the demo workflow until
 * it receives SIGTERM (then it shuts down cleanly) or SIGKILL (then it just dies — the point of the demo).
 * Prints one JSON line, { event: 'ready', pid, workerId }, once other processes can reach the instance.
 *
 *   node dist/demo/demo-worker.js --data-dir <dir> --effects <file> [--lease-ms 2000] [--concurrency 2]
 */
import { parseArgs } from 'node:util';
import { createEngine } from '../index.js';
import { createDemoWorkflow } from './demo-workflows.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      effects: { type: 'string' },
      'lease-ms': { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '2' },
    },
  });
  const dataDir = values['data-dir'];
  const effects = values.effects;
  if (!dataDir || !effects) throw new Error('usage: demo-worker --data-dir <dir> --effects <file> [--lease-ms N] [--concurrency N]');

  const engine = await createEngine({
    dataDir,
    vacuumIntervalMs: 0,
    onError: (err, context) => process.stderr.write(`demo worker ${process.pid}: ${context}: ${String(err)}\n`),
  });
  const worker = engine.worker({
    workflows: [createDemoWorkflow(effects)],
    concurrency: Number(values.concurrency),
    leaseMs: Number(values['lease-ms']),
    pollIntervalMs: 200,
  });
  await worker.start();
  process.once('SIGTERM', () => {
    engine.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`demo worker ${process.pid}: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid, workerId: worker.id })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo worker ${process.pid} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
