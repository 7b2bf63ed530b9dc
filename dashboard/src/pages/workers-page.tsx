/**
 * The workers registry: every registered worker (idle ones too), live, stale (no heartbeat for three lease
 * lengths) or stopped, with its workflows, concurrency, last heartbeat and the leases it holds now.
 */
import { api } from '../api/client';
import type { Workers } from '../api/types';
import { ErrorBanner } from '../components/error-banner';
import { formatAge, formatTime } from '../components/format';
import { usePoll } from '../hooks/use-poll';

export function WorkersPage() {
  const workers = usePoll(() => api.get<Workers>('/api/workers'), 'workers', 3000);
  const rows = workers.data?.workers ?? [];
  return (
    <div data-testid="workers-page">
      <div className="page-head">
        <h1>Workers</h1>
        {workers.data && (
          <span className="muted" data-testid="workers-live">
            {workers.data.live} live
          </span>
        )}
      </div>
      <ErrorBanner error={workers.error} />
      <section className="panel panel-flush">
        <table className="table" data-testid="workers-table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Status</th>
              <th>Workflows</th>
              <th className="num" title="Executions it runs at once">Slots</th>
              <th>Last heartbeat</th>
              <th className="num">Leases held</th>
              <th className="num">Compensating</th>
              <th className="num">Expired</th>
              <th>Leases end</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((w) => (
              <tr key={w.workerId} data-testid="worker-row" data-worker={w.workerId} data-status={w.status}>
                <td className="mono wrap" title={w.host === null ? undefined : `${w.host}, pid ${w.pid}`}>
                  {w.workerId}
                </td>
                <td>
                  <span className={`badge worker-${w.status}`} data-testid="worker-status">
                    {w.status}
                  </span>
                </td>
                <td className="mono wrap" data-testid="worker-workflows">
                  {w.workflows.length === 0 ? '—' : w.workflows.join(', ')}
                </td>
                <td className="num" data-testid="worker-concurrency">
                  {w.concurrency ?? '—'}
                </td>
                <td title={formatTime(w.heartbeatAt)} data-testid="worker-heartbeat">
                  {formatAge(w.heartbeatAt)}
                </td>
                <td className="num" data-testid="worker-leases">
                  {w.executions}
                </td>
                <td className="num">{w.compensating}</td>
                <td className={`num ${w.expired > 0 ? 'error-text' : ''}`}>{w.expired}</td>
                <td title={formatTime(w.leaseExpiresAt)}>{formatAge(w.leaseExpiresAt)}</td>
              </tr>
            ))}
            {!workers.loading && rows.length === 0 && (
              <tr>
                <td colSpan={9} className="empty">
                  No worker has registered.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <p className="muted small">
        Workers heartbeat every third of their lease length, leases held or not. Stale: no heartbeat for three lease lengths (the
        process died or is cut off; its leases expire and other workers resume them). Stopped and stale workers are forgotten after an
        hour.
      </p>
    </div>
  );
}
