/**
 * Executions, newest first, refreshed every 2 s. Filters live in the route's query so a filtered list
 * can be linked to (the overview's status cards do).
 */
import { api } from '../api/client';
import type { ExecutionList, WorkflowInfo } from '../api/types';
import { StatusBadge } from '../components/badges';
import { ErrorBanner } from '../components/error-banner';
import { formatAge, formatTime, shortId } from '../components/format';
import { Pager, usePager } from '../components/pager';
import { usePoll } from '../hooks/use-poll';
import { href, navigate, type Route } from '../hooks/use-route';
import { ExecutionFilters, toIso, type Filters } from './execution-filters';

const PAGE_SIZES = [10, 25, 50, 100];

export function ExecutionsPage({ route }: { route: Route }) {
  const q = route.query;
  const filters: Filters = {
    workflow: q.get('workflow') ?? undefined,
    status: q.get('status') ?? undefined,
    createdAfter: q.get('createdAfter') ?? undefined,
    createdBefore: q.get('createdBefore') ?? undefined,
    search: q.get('search') ?? undefined,
  };
  const limit = Number(q.get('limit')) || 25;
  const pager = usePager();
  const key = JSON.stringify([filters, limit, pager.cursor]);
  const list = usePoll(
    () =>
      api.get<ExecutionList>('/api/executions', {
        workflow: filters.workflow,
        status: filters.status,
        createdAfter: toIso(filters.createdAfter),
        createdBefore: toIso(filters.createdBefore),
        search: filters.search,
        limit,
        cursor: pager.cursor,
      }),
    key,
    2000,
  );
  const workflows = usePoll(() => api.get<{ workflows: WorkflowInfo[] }>('/api/workflows'), 'workflows', 30_000);
  const onChange = (next: Filters, pageSize = limit) => {
    pager.reset();
    navigate('/executions', { ...next, limit: pageSize === 25 ? undefined : String(pageSize) }, true);
  };
  const rows = list.data?.executions ?? [];

  return (
    <div data-testid="executions-page">
      <div className="page-head">
        <h1>Executions</h1>
        <span className="muted small live-dot">Live</span>
      </div>
      <ExecutionFilters key={filters.search ?? ''} filters={filters} workflows={workflows.data?.workflows ?? []} onChange={onChange} />
      <ErrorBanner error={list.error} />
      <div className="panel panel-flush">
        <table className="table" data-testid="executions-table">
          <thead>
            <tr>
              <th>Execution</th>
              <th>Workflow</th>
              <th>Status</th>
              <th>Idempotency key</th>
              <th className="num" title="Steps completed">Steps done</th>
              <th className="num">Claims</th>
              <th>Lease owner</th>
              <th>Created</th>
              <th>Updated</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} data-testid="execution-row" data-id={e.id} data-status={e.status}>
                <td>
                  <a href={href(`/executions/${e.id}`)} className="mono" title={e.id}>
                    {shortId(e.id)}
                  </a>
                </td>
                <td>
                  {e.workflow}
                  <span className="muted">@{e.version}</span>
                </td>
                <td>
                  <StatusBadge status={e.status} />
                </td>
                <td className="mono ellipsis" title={e.idempotencyKey ?? ''}>
                  {e.idempotencyKey ?? <span className="muted">—</span>}
                </td>
                <td className="num">{e.stepCount}</td>
                <td className="num">{e.claimCount}</td>
                <td className="mono ellipsis">{e.leaseOwner ?? <span className="muted">—</span>}</td>
                <td title={formatTime(e.createdAt)}>{formatAge(e.createdAt)}</td>
                <td title={formatTime(e.updatedAt)}>{formatAge(e.updatedAt)}</td>
                <td className="ellipsis error-text" title={e.error ? `${e.error.message ?? ''}${e.error.$truncated ? '…' : ''}` : ''}>
                  {e.error?.message ?? ''}
                </td>
              </tr>
            ))}
            {!list.loading && rows.length === 0 && (
              <tr>
                <td colSpan={10} className="empty" data-testid="executions-empty">
                  No executions match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="list-foot">
        <label className="muted small">
          Rows per page{' '}
          <select value={limit} onChange={(e) => onChange(filters, Number(e.target.value))} data-testid="page-size">
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <Pager pager={pager} nextCursor={list.data?.nextCursor} />
      </div>
    </div>
  );
}
