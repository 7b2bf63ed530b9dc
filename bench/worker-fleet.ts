/**
 * A few workers claiming from one database at once, as a deployment would run them: on the server each
 * worker has an engine (a pool) of its own, as separate processes would; on PGlite, where one process
 * holds the data dir, they share its engine. `fleet.engine` is the first engine, for the bench's own
 * starts and queries.
 */
import { createEngine, type Engine, type Worker, type WorkerOptions } from '../src/index.js';
import type { Place } from './fresh-place.js';

export interface Fleet {
  engine: Engine;
  workers: Worker[];
  /** Executions the workers have finished (completed, failed or lease lost), summed. */
  finished(): number;
  stop(): Promise<void>;
}

export async function startFleet(place: Place, count: number, options: WorkerOptions, onError: (err: unknown, context: string) => void): Promise<Fleet> {
  const first = await createEngine({ ...place.options, onError });
  const engines: Engine[] = [first];
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      let engine = first;
      if (place.backend === 'postgres' && i > 0) {
        engine = await createEngine({ ...place.options, onError });
        engines.push(engine);
      }
      const worker = engine.worker({ ...options, id: `bench-worker-${i}` });
      await worker.start();
      workers.push(worker);
    }
  } catch (err) {
    for (const w of workers) await w.stop();
    for (const e of engines) await e.close();
    throw err;
  }
  return {
    engine: first,
    workers,
    finished: () => workers.reduce((n, w) => n + w.stats.completed + w.stats.failed + w.stats.leaseLost, 0),
    stop: async () => {
      for (const w of workers) await w.stop();
      for (const e of engines) await e.close();
    },
  };
}

/** Resolves when the fleet has finished `n` executions; rejects after 60 s without progress. */
export function fleetFinished(fleet: Fleet, n: number): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const c = fleet.finished();
      if (c >= n) return resolve();
      if (c !== last) {
        last = c;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > 60_000) {
        return reject(new Error(`no execution finished for 60 s (${c} of ${n})`));
      }
      setTimeout(tick, 5);
    };
    tick();
  });
}
