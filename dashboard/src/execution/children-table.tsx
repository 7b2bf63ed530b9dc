/** The executions this one started with ctx.child, in the order started, each a link to its own page. */
import type { ChildExecution } from '../api/types';
import { StatusBadge } from '../components/badges';
import { formatTime } from '../components/format';
import { href } from '../hooks/use-route';

export function ChildrenTable({ items }: { items: ChildExecution[] }) {
  return (
    <table className="table table-compact" data-testid="children-table">
      <thead>
        <tr>
          <th>Child</th>
          <th>Workflow</th>
          <th>Step</th>
          <th>Status</th>
          <th>Started</th>
          <th>Finished</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => (
          <tr key={c.id} data-testid="child-row" data-id={c.id} data-status={c.status}>
            <td>
              <a className="mono" href={href(`/executions/${c.id}`)} data-testid="child-link">
                {c.id}
              </a>
            </td>
            <td className="wf">{c.workflow}</td>
            <td className="mono">{c.stepKey}</td>
            <td>
              <StatusBadge status={c.status} />
            </td>
            <td>{formatTime(c.createdAt)}</td>
            <td>{formatTime(c.finishedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
