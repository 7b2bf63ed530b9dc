/**
 * One system's run of the three workloads, in a child process of its own (Node.js 22 for the peers, the
 * repository's Node.js for Aries): setup, jobs (enqueue N, then drain), idle pickup latency, 10-step
 * workflows, teardown. Argument: a JSON { system, place, settings }. Prints one JSON SystemRun line.
 */
import pg from 'pg';
import type { PeerAdapter, Place, SystemRun, WorkloadSettings } from './adapter.js';

interface ChildArgs {
  system: string;
  place: Place;
  settings: WorkloadSettings;
}

async function adapterFor(system: string): Promise<PeerAdapter> {
  switch (system) {
    case 'aries-server':
      return (await import('./adapters/aries.js')).ariesAdapter(false);
    case 'aries-embedded':
      return (await import('./adapters/aries.js')).ariesAdapter(true);
    case 'pg-boss':
      return (await import('./adapters/pg-boss.js')).pgBossAdapter();
    case 'graphile-worker':
      return (await import('./adapters/graphile-worker.js')).graphileWorkerAdapter();
    case 'dbos':
      return (await import('./adapters/dbos.js')).dbosAdapter();
    default:
      throw new Error(`unknown system ${system}`);
  }
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const log = (m: string) => process.stderr.write(`  ${m}\n`);

async function latency(adapter: PeerAdapter, args: ChildArgs) {
  const { latencySamples, latencyWarmup } = args.settings;
  const starts = new Map<number, number>();
  let poll: pg.Client | undefined;
  if (adapter.completedSql) {
    poll = new pg.Client({ connectionString: args.place.databaseUrl });
    await poll.connect();
  }
  const isComplete = async (id: string) =>
    poll ? ((await poll.query(adapter.completedSql!, [id])).rowCount ?? 0) > 0 : adapter.completed!(id);
  const pickup: number[] = [];
  const visible: number[] = [];
  await adapter.startProbeWorker((i) => {
    if (!starts.has(i)) starts.set(i, performance.now());
  });
  try {
    await new Promise((r) => setTimeout(r, 500)); // idle: the worker has settled into waiting
    for (let i = 0; i < latencyWarmup + latencySamples; i++) {
      const t0 = performance.now();
      const id = await adapter.probe(i);
      // Completion visible: polled back to back on a separate connection (the same bias for every system).
      const deadline = t0 + 30_000;
      while (!(await isComplete(id))) {
        if (performance.now() > deadline) throw new Error(`${args.system}: probe ${i} not complete after 30 s`);
      }
      const t2 = performance.now();
      const started = starts.get(i);
      if (started === undefined) throw new Error(`${args.system}: probe ${i} complete but its handler never started`);
      if (i >= latencyWarmup) {
        pickup.push(started - t0);
        visible.push(t2 - t0);
      }
      await new Promise((r) => setTimeout(r, 20)); // idle again before the next one
    }
  } finally {
    await adapter.stopProbeWorker();
    await poll?.end();
  }
  return { pickupP50: percentile(pickup, 50), pickupP99: percentile(pickup, 99), visibleP50: percentile(visible, 50) };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as ChildArgs;
  const { settings } = args;
  const adapter = await adapterFor(args.system);
  await adapter.setup(args.place, settings);
  try {
    let t = performance.now();
    await adapter.enqueue(settings.jobs);
    const enqueueSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    await adapter.drain(settings.jobs);
    const drainSeconds = (performance.now() - t) / 1000;
    log(`${args.system}: ${Math.round(settings.jobs / enqueueSeconds)} starts/s, ${Math.round(settings.jobs / drainSeconds)} jobs/s`);
    const lat = await latency(adapter, args);
    log(`${args.system}: pickup p50 ${lat.pickupP50.toFixed(2)} ms, p99 ${lat.pickupP99.toFixed(2)} ms, visible p50 ${lat.visibleP50.toFixed(2)} ms`);
    let stepsPerSecond: number | undefined;
    if (adapter.runWorkflows) {
      t = performance.now();
      await adapter.runWorkflows(settings.workflows, settings.steps);
      stepsPerSecond = (settings.workflows * settings.steps) / ((performance.now() - t) / 1000);
      log(`${args.system}: ${Math.round(stepsPerSecond)} durable steps/s`);
    }
    const run: SystemRun = {
      system: args.system,
      enqueuePerSecond: settings.jobs / enqueueSeconds,
      jobsPerSecond: settings.jobs / drainSeconds,
      ...lat,
      stepsPerSecond,
    };
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    await adapter.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
