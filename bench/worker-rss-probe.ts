/**
 * A worker in a process of its own, for worker-rss.ts: opens an engine on the database it is given
 * (WAITS_RSS_TARGET, engine options as JSON). Without WAITS_RSS_IN_FLIGHT it runs one worker of the
 * waits benchmark's workflows at concurrency 16 for WAITS_RSS_SECONDS while nothing is due (it polls,
 * and claims nothing). With WAITS_RSS_IN_FLIGHT = N, it first measures the same worker idle, then starts
 * N executions of a workflow whose one step awaits a latch and runs a worker at concurrency N until all N
 * are inside that step (in flight: claimed, leased, their step running), measures again, then opens the
 * latch and lets them finish. Prints its memory as one JSON line: after a full GC, and the highest RSS
 * seen meanwhile (and, in flight, idleRss / idleHeapUsed: the same after a full GC while idle).
 */
import { createEngine, defineWorkflow, type EngineOptions } from '../src/index.js';
import { benchWaitWorkflows } from './waits-workflows.js';

const target = JSON.parse(process.env.WAITS_RSS_TARGET ?? '{}') as EngineOptions;
const seconds = Number(process.env.WAITS_RSS_SECONDS ?? '5');
const inFlight = Number(process.env.WAITS_RSS_IN_FLIGHT ?? '0');
const gc = () => (globalThis as { gc?: () => void }).gc?.();

let entered = 0;
let openLatch = () => {};
const latch = new Promise<void>((resolve) => (openLatch = resolve));
const inFlightWorkflow = defineWorkflow('bench-in-flight', async (ctx, i: number) =>
  ctx.step('held', async () => {
    entered++;
    await latch;
    return i;
  }),
);

const engine = await createEngine({ ...target, onError: (err, context) => console.error(`[rss-probe] ${context}: ${String(err)}`) });
const worker = inFlight > 0
  ? engine.worker({ workflows: [inFlightWorkflow], concurrency: inFlight })
  : engine.worker({ workflows: benchWaitWorkflows, concurrency: 16 });
await worker.start();
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
await new Promise((r) => setTimeout(r, seconds * 1000));
let idle: NodeJS.MemoryUsage | undefined;
if (inFlight > 0) {
  gc();
  idle = process.memoryUsage();
  await engine.startMany(inFlightWorkflow, Array.from({ length: inFlight }, (_, i) => i));
  const deadline = Date.now() + 600_000;
  while (entered < inFlight) {
    if (Date.now() > deadline) throw new Error(`only ${entered} of ${inFlight} executions entered their step`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
}
clearInterval(sampler);
gc();
const m = process.memoryUsage();
const { claimed } = worker.stats;
openLatch();
await worker.stop();
await engine.close();
console.log(JSON.stringify({
  rss: m.rss, peakRss: Math.max(peakRss, m.rss), heapUsed: m.heapUsed, external: m.external, claimed,
  ...(idle ? { idleRss: idle.rss, idleHeapUsed: idle.heapUsed } : {}),
}));
