/** The overview's two short lists: the latest executions, and failures nobody has recovered yet. */
import { api } from '../api/client';
import type { ExecutionList, FailureList } from '../api/types';
import { FailureTypeBadge, StatusBadge } from '../components/badges';
import { formatAge, formatTime, shortId } from '../components/format';
import { usePoll } from '../hooks/use-poll';
import { href } from '../hooks/use-route';

const LIMIT = 8;

export function RecentExecutions() {
  const list = usePoll(() => api.get<ExecutionList>('/api/executions', { limit: LIMIT }), 'recent-executions', 3000);
  const rows = list.data?.executions ?? [];
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Latest executions</h2>
        <a href={href('/executions')} className="small">
          All executions →
        </a>
      </div>
      <table className="table table-compact" data-testid="recent-executions">
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>
                <a href={href(`/executions/${e.id}`)} className="mono" title={e.id}>
                  {shortId(e.id)}
                </a>
              </td>
              <td>{e.workflow}</td>
              <td>
                <StatusBadge status={e.status} />
              </td>
              <td className="muted nowrap" title={formatTime(e.updatedAt)}>
                {formatAge(e.updatedAt)}
              </td>
            </tr>
          ))}
          {!list.loading && rows.length === 0 && (
            <tr>
              <td className="empty">No executions yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

export function UnrecoveredFailures() {
  const list = usePoll(() => api.get<FailureList>('/api/failures', { unrecovered: true, limit: LIMIT }), 'unrecovered-failures', 5000);
  const rows = list.data?.failures ?? [];
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Unrecovered failures</h2>
        <a href={href('/failures', { unrecovered: 'true' })} className="small">
          All failures →
        </a>
      </div>
      <table className="table table-compact" data-testid="unrecovered-failures">
        <tbody>
          {rows.map((f) => (
            <tr key={f.id}>
              <td>
                <FailureTypeBadge type={f.type} />
              </td>
              <td>
                <a href={href(`/executions/${f.executionId}`)} className="mono" title={f.executionId}>
                  {shortId(f.executionId)}
                </a>
              </td>
              <td className="message-cell" title={f.message}>
                {f.message}
              </td>
              <td className="muted nowrap" title={formatTime(f.at)}>
                {formatAge(f.at)}
              </td>
            </tr>
          ))}
          {!list.loading && rows.length === 0 && (
            <tr>
              <td className="empty">Nothing to recover.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
