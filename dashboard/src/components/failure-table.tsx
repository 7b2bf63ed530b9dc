/** Recorded failures: type, recovery strategy, source, step and attempt, message, and who recovered it. */
import type { Failure } from '../api/types';
import { FailureTypeBadge } from './badges';
import { formatTime, shortId } from './format';
import { href } from '../hooks/use-route';

export function FailureTable({ failures, showExecution, testId }: { failures: Failure[]; showExecution?: boolean; testId: string }) {
  return (
    <table className="table table-compact" data-testid={testId}>
      <thead>
        <tr>
          <th>Type</th>
          {showExecution && <th>Execution</th>}
          {showExecution && <th>Workflow</th>}
          <th>Strategy</th>
          <th>Source</th>
          <th>Step</th>
          <th className="num">Attempt</th>
          <th>Message</th>
          <th>At</th>
          <th>Recovered</th>
        </tr>
      </thead>
      <tbody>
        {failures.map((f) => (
          <tr key={f.id} data-testid="failure-row" data-execution={f.executionId} data-type={f.type}>
            <td>
              <FailureTypeBadge type={f.type} />
            </td>
            {showExecution && (
              <td>
                <a href={href(`/executions/${f.executionId}`)} className="mono" title={f.executionId} data-testid="failure-execution-link">
                  {shortId(f.executionId)}
                </a>
              </td>
            )}
            {showExecution && <td className="wf">{f.workflow ?? ''}</td>}
            <td>{f.recoveryStrategy}</td>
            <td>{f.source}</td>
            <td className="mono">{f.stepKey ?? '—'}</td>
            <td className="num">{f.attempt ?? '—'}</td>
            <td className="message" title={f.errorClass ?? ''}>
              {f.errorClass && <span className="muted mono">{f.errorClass}: </span>}
              {f.message}
              {f.truncated && <span data-testid="failure-truncated">…</span>}
              {f.retriesExhausted && <span className="tag">retries exhausted</span>}
            </td>
            <td className="time-cell">{formatTime(f.at)}</td>
            <td className="time-cell" data-testid="failure-recovered" data-recovered={String(f.recovered)}>
              {f.recovered ? (
                <span>
                  <span className="nowrap">
                    <span className="ok-text">✓</span> {f.recoveredBy ?? ''}
                  </span>{' '}
                  {f.recoveredAt ? formatTime(f.recoveredAt) : ''}
                </span>
              ) : (
                <span className="error-text nowrap">not recovered</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
