/** Workers seen through their leases: how many executions each holds, compensating, and expired. */
import { api } from '../api/client';
import type { WorkerLeases } from '../api/types';
import { ErrorBanner } from '../components/error-banner';
import { formatAge, formatTime } from '../components/format';
import { usePoll } from '../hooks/use-poll';

export function WorkersPage() {
  const workers = usePoll(() => api.get<{ workers: WorkerLeases[] }>('/api/workers'), 'workers', 3000);
  const rows = workers.data?.workers ?? [];
  return (
    <div data-testid="workers-page">
      <div className="page-head">
        <h1>Workers</h1>
      </div>
      <ErrorBanner error={workers.error} />
      <section className="panel panel-flush">
        <table className="table" data-testid="workers-table">
          <thead>
            <tr>
              <th>Worker</th>
              <th className="num">Executions leased</th>
              <th className="num">Compensating</th>
              <th className="num">Expired leases</th>
              <th>Latest lease expiry</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((w) => (
              <tr key={w.workerId} data-testid="worker-row">
                <td className="mono">{w.workerId}</td>
                <td className="num">{w.executions}</td>
                <td className="num">{w.compensating}</td>
                <td className={`num ${w.expired > 0 ? 'error-text' : ''}`}>{w.expired}</td>
                <td title={formatTime(w.leaseExpiresAt)}>{formatAge(w.leaseExpiresAt)}</td>
              </tr>
            ))}
            {!workers.loading && rows.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">
                  No worker holds a lease right now.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <p className="muted small">A worker appears here while it holds at least one lease.</p>
    </div>
  );
}
