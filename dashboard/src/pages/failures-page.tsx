/**
 * Failures: grouped by workflow and type (how many, how many still unrecovered, the latest), then the
 * recent failures themselves, filterable and paginated, each linking to its execution.
 */
import { api } from '../api/client';
import { FAILURE_TYPES, type FailureGroup, type FailureList } from '../api/types';
import { FailureTypeBadge } from '../components/badges';
import { ErrorBanner } from '../components/error-banner';
import { FailureTable } from '../components/failure-table';
import { formatAge, formatTime } from '../components/format';
import { Pager, usePager } from '../components/pager';
import { usePoll } from '../hooks/use-poll';
import { navigate, type Route } from '../hooks/use-route';

const PAGE_SIZE = 25;

export function FailuresPage({ route }: { route: Route }) {
  const type = route.query.get('type') ?? undefined;
  const workflow = route.query.get('workflow') ?? undefined;
  const unrecovered = route.query.get('unrecovered') === 'true';
  const pager = usePager();
  const summary = usePoll(() => api.get<{ groups: FailureGroup[] }>('/api/failures/summary'), 'summary', 5000);
  const list = usePoll(
    () => api.get<FailureList>('/api/failures', { type, workflow, unrecovered: unrecovered || undefined, limit: PAGE_SIZE, cursor: pager.cursor }),
    JSON.stringify([type, workflow, unrecovered, pager.cursor]),
    5000,
  );
  const setFilter = (patch: Record<string, string | undefined>) => {
    pager.reset();
    navigate('/failures', { type, workflow, unrecovered: unrecovered ? 'true' : undefined, ...patch }, true);
  };
  const groups = [...(summary.data?.groups ?? [])].sort((a, b) => b.lastAt.localeCompare(a.lastAt));
  const workflows = [...new Set(groups.map((g) => g.workflow))].sort();

  return (
    <div data-testid="failures-page">
      <div className="page-head">
        <h1>Failures</h1>
      </div>
      <ErrorBanner error={summary.error ?? list.error} />
      <h2 className="section-title">By workflow and type</h2>
      <section className="panel panel-flush">
        <table className="table" data-testid="failure-groups">
          <thead>
            <tr>
              <th>Workflow</th>
              <th>Type</th>
              <th className="num">Failures</th>
              <th className="num">Unrecovered</th>
              <th>Latest</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr
                key={`${g.workflow}:${g.type}`}
                className="clickable"
                onClick={() => setFilter({ workflow: g.workflow, type: g.type })}
                data-testid="failure-group"
                data-workflow={g.workflow}
                data-type={g.type}
              >
                <td>{g.workflow}</td>
                <td>
                  <FailureTypeBadge type={g.type} />
                </td>
                <td className="num">{g.count}</td>
                <td className={`num ${g.unrecovered > 0 ? 'error-text' : ''}`} data-testid="group-unrecovered">
                  {g.unrecovered}
                </td>
                <td title={formatTime(g.lastAt)}>{formatAge(g.lastAt)}</td>
              </tr>
            ))}
            {!summary.loading && groups.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">
                  No failures recorded.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <h2 className="section-title">Recent failures</h2>
      <div className="filters">
        <label>
          Type
          <select value={type ?? ''} onChange={(e) => setFilter({ type: e.target.value || undefined })} data-testid="failure-filter-type">
            <option value="">All</option>
            {FAILURE_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <select value={workflow ?? ''} onChange={(e) => setFilter({ workflow: e.target.value || undefined })} data-testid="failure-filter-workflow">
            <option value="">All</option>
            {workflows.map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={unrecovered}
            onChange={(e) => setFilter({ unrecovered: e.target.checked ? 'true' : undefined })}
            data-testid="failure-filter-unrecovered"
          />
          Unrecovered only
        </label>
      </div>
      <section className="panel panel-flush">
        <FailureTable failures={list.data?.failures ?? []} showExecution testId="failures-table" />
        {!list.loading && (list.data?.failures.length ?? 0) === 0 && <p className="empty">No failures match.</p>}
      </section>
      <Pager pager={pager} nextCursor={list.data?.nextCursor} />
    </div>
  );
}
