/**
 * A worker in a process of its own, for worker-rss.ts: opens an engine on the database it is given
 * (WAITS_RSS_TARGET, engine options as JSON), runs one worker of the benchmark's workflows at
 * concurrency 16 for WAITS_RSS_SECONDS while nothing is due (it polls, and claims nothing), then prints
 * its memory as one JSON line: after a full GC, and the highest RSS seen meanwhile.
 */
import { createEngine, type EngineOptions } from '../src/index.js';
import { benchWaitWorkflows } from './waits-workflows.js';

const target = JSON.parse(process.env.WAITS_RSS_TARGET ?? '{}') as EngineOptions;
const seconds = Number(process.env.WAITS_RSS_SECONDS ?? '5');

const engine = await createEngine({ ...target, onError: (err, context) => console.error(`[rss-probe] ${context}: ${String(err)}`) });
const worker = engine.worker({ workflows: benchWaitWorkflows, concurrency: 16 });
await worker.start();
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(sampler);
(globalThis as { gc?: () => void }).gc?.();
const m = process.memoryUsage();
const { claimed } = worker.stats;
await worker.stop();
await engine.close();
console.log(JSON.stringify({ rss: m.rss, peakRss: Math.max(peakRss, m.rss), heapUsed: m.heapUsed, external: m.external, claimed }));
