/**
 * Driving a benchmark's executions: starting them a few at a time, and waiting until a worker has finished
 * them all (shared by the throughput benchmarks).
 */
import type { Worker } from '../src/index.js';

/** Runs `fn(i)` for i in [0, n) with at most `parallel` calls in flight. */
export async function pool(n: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, lane));
}

/** Resolves when the worker has finished `n` executions (completed or otherwise); rejects after 60 s without progress. */
export function finished(worker: Worker, n: number): Promise<void> {
  const count = () => worker.stats.completed + worker.stats.failed + worker.stats.leaseLost;
  let last = -1;
  let lastChange = performance.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const c = count();
      if (c >= n) return resolve();
      if (c !== last) {
        last = c;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > 60_000) {
        return reject(new Error(`no execution finished for 60 s (${c} of ${n}); worker stats ${JSON.stringify(worker.stats)}`));
      }
      setTimeout(tick, 1);
    };
    tick();
  });
}
