/** What the overview reads: health, registered workflows, the workers registry and its leases, figures over time. */
import { readFileSync } from 'node:fs';
import { optionalInt } from '../query-params.js';
import type { Route } from '../route.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const operationRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/health',
    async handle({ engine, authRequired }) {
      await engine.admin.activeCounts(); // answers only when the database does
      return { body: { ok: true, backend: engine.backend, version: VERSION, auth: authRequired } };
    },
  },
  {
    method: 'GET',
    path: '/api/workflows',
    async handle({ engine }) {
      return { body: { workflows: await engine.admin.listWorkflows() } };
    },
  },
  {
    method: 'GET',
    path: '/api/workers',
    async handle({ engine }) {
      const workers = await engine.admin.listWorkers();
      return {
        body: {
          live: workers.filter((w) => w.status === 'live').length,
          workers: workers.map((w) => ({
            workerId: w.worker,
            status: w.status,
            host: w.host,
            pid: w.pid,
            workflows: w.workflows,
            concurrency: w.concurrency,
            startedAt: w.startedAt,
            heartbeatAt: w.heartbeatAt,
            stoppedAt: w.stoppedAt,
            executions: w.executions,
            compensating: w.compensating,
            expired: w.expired,
            earliestLeaseExpiry: w.earliestLeaseExpiry,
            leaseExpiresAt: w.latestLeaseExpiry,
          })),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/api/stats',
    async handle({ engine, query }) {
      const windowSeconds = optionalInt(query, 'windowSeconds', 60, 30 * 86_400) ?? 3_600;
      const buckets = optionalInt(query, 'buckets', 1, 240) ?? 60;
      const bucketSeconds = Math.max(1, Math.ceil(windowSeconds / buckets));
      // Buckets end at the next whole bucket boundary, so a chart refreshed every few seconds keeps its bars.
      const toMs = Math.ceil(Date.now() / (bucketSeconds * 1000)) * bucketSeconds * 1000;
      const to = new Date(toMs);
      const from = new Date(toMs - buckets * bucketSeconds * 1000);
      const [series, active] = await Promise.all([engine.admin.executionStats({ from, to, bucketSeconds }), engine.admin.activeCounts()]);
      return { body: { from, to, bucketSeconds, buckets: series, statusCounts: active.statusCounts, queueDepth: active.queueDepth } };
    },
  },
];
