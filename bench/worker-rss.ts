/**
 * A worker's memory, measured in a fresh process (worker-rss-probe.ts) so that nothing this benchmark
 * did in its own process (seeding, PGlite's buffers, earlier runs) counts: RSS after a full GC, the peak
 * RSS while it polled, and the JS heap.
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
}

const probe = join(dirname(fileURLToPath(import.meta.url)), 'worker-rss-probe.ts');

export function measureWorkerRss(target: EngineOptions, seconds: number): Promise<WorkerMemory> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', probe], {
      env: { ...process.env, WAITS_RSS_TARGET: JSON.stringify(target), WAITS_RSS_SECONDS: String(seconds) },
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
