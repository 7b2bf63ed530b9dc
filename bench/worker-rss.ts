/**
 * A worker's memory, measured in a fresh process (worker-rss-probe.ts) so that nothing this benchmark
 * did in its own process (seeding, PGlite's buffers, earlier runs) counts: RSS after a full GC, the peak
 * RSS while it polled, and the JS heap; with `inFlight`, the same with that many executions in flight
 * (each inside a step awaiting a latch) and what the worker took idle before them.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineOptions } from '../src/index.js';

export interface WorkerMemory {
  rss: number;
  peakRss: number;
  heapUsed: number;
  external: number;
  /** Executions the worker claimed while it ran (0: it only polled). */
  claimed: number;
  /** With inFlight: RSS and JS heap after a full GC while the same worker ran nothing, before the executions started. */
  idleRss?: number;
  idleHeapUsed?: number;
}

const probe = join(dirname(fileURLToPath(import.meta.url)), 'worker-rss-probe.ts');

export function measureWorkerRss(target: EngineOptions, seconds: number, inFlight = 0): Promise<WorkerMemory> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', probe], {
      env: { ...process.env, WAITS_RSS_TARGET: JSON.stringify(target), WAITS_RSS_SECONDS: String(seconds), WAITS_RSS_IN_FLIGHT: String(inFlight) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`the worker probe exited with ${code}: ${out}`));
      resolve(JSON.parse(line) as WorkerMemory);
    });
  });
}
