/**
 * The overview: what is active now (counts by status, queue depth, workers) and what happened over the
 * chosen window (throughput, failures and failure rate). Refreshes every few seconds.
 */
import { useState } from 'react';
import { api } from '../api/client';
import type { Stats, Workers } from '../api/types';
import { ErrorBanner } from '../components/error-banner';
import { usePoll } from '../hooks/use-poll';
import { href } from '../hooks/use-route';
import { ThroughputChart } from '../charts/throughput-chart';
import { FailureChart } from '../charts/failure-chart';
import { RecentExecutions, UnrecoveredFailures } from './overview-lists';

const WINDOWS = [
  { label: 'Last 15 minutes', seconds: 900, buckets: 30 },
  { label: 'Last hour', seconds: 3600, buckets: 60 },
  { label: 'Last 24 hours', seconds: 86_400, buckets: 48 },
];

/** Unfinished statuses, each a card linking to its executions (SUB_COMMITTED: children waiting for their parent). */
const ACTIVE = ['PENDING', 'RUNNING', 'SLEEPING', 'WAITING', 'SUB_COMMITTED', 'COMPENSATING', 'FAILED'] as const;

export function OverviewPage() {
  const [windowIndex, setWindowIndex] = useState(1);
  const win = WINDOWS[windowIndex] ?? WINDOWS[1]!;
  const stats = usePoll(
    () => api.get<Stats>('/api/stats', { windowSeconds: win.seconds, buckets: win.buckets }),
    `stats:${win.seconds}`,
    5000,
  );
  const workers = usePoll(() => api.get<Workers>('/api/workers'), 'workers', 5000);
  const s = stats.data;

  return (
    <div data-testid="overview-page">
      <div className="page-head">
        <h1>Overview</h1>
        <select value={windowIndex} onChange={(e) => setWindowIndex(Number(e.target.value))} data-testid="window-select" aria-label="Window">
          {WINDOWS.map((w, i) => (
            <option key={w.seconds} value={i}>
              {w.label}
            </option>
          ))}
        </select>
      </div>
      <ErrorBanner error={stats.error ?? workers.error} />
      <div className="cards">
        {ACTIVE.map((status) => (
          <a key={status} className={`card card-link card-${status.toLowerCase()}`} href={href('/executions', { status })} data-testid={`count-${status}`}>
            <div className="card-label">{status}</div>
            <div className="card-value">{s ? (s.statusCounts[status] ?? 0) : '…'}</div>
          </a>
        ))}
        <div className="card" data-testid="queue-depth">
          <div className="card-label">Queue depth</div>
          <div className="card-value">{s ? s.queueDepth : '…'}</div>
        </div>
        <a className="card card-link" href={href('/workers')} data-testid="worker-count">
          <div className="card-label">Workers</div>
          <div className="card-value">{workers.data ? workers.data.live : '…'}</div>
        </a>
      </div>
      <div className="grid-2">
        <section className="panel">
          <h2>Throughput</h2>
          <p className="muted small">Executions started and completed per {s ? describeBucket(s.bucketSeconds) : 'bucket'}</p>
          {s ? <ThroughputChart buckets={s.buckets} /> : <div className="placeholder">Loading…</div>}
        </section>
        <section className="panel">
          <h2>Failures</h2>
          <p className="muted small">Recorded failures by type, and failed ÷ finished executions</p>
          {s ? <FailureChart buckets={s.buckets} /> : <div className="placeholder">Loading…</div>}
        </section>
      </div>
      <div className="grid-2">
        <RecentExecutions />
        <UnrecoveredFailures />
      </div>
    </div>
  );
}

function describeBucket(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  return `${seconds} s`;
}
