/**
 * A stored error (an execution's or a step's): its class and message first, the failure type as a badge,
 * the stack as readable lines (folded), and any other fields as JSON. An error the server sent as a
 * preview (`$truncated`) shows its message's start, its whole size and a "Show all" button.
 */
import type { StoredError } from '../api/types';
import { FailureTypeBadge } from './badges';
import { formatBytes } from './format';
import { JsonView } from './json-view';

export function ErrorView({ error, testId, onShowAll }: { error: StoredError; testId?: string; onShowAll?: () => void }) {
  const { name, message, stack, failureType, code, $truncated, bytes, ...rest } = error;
  return (
    <div className="error-view" data-testid={testId}>
      <div className="error-title">
        {typeof failureType === 'string' && <FailureTypeBadge type={failureType} />}
        {typeof name === 'string' && <span className="mono error-name">{name}</span>}
        {typeof code === 'string' && <code className="muted">{code}</code>}
      </div>
      <p className="error-message">
        {typeof message === 'string' ? message : JSON.stringify(message)}
        {$truncated && '…'}
      </p>
      {$truncated && (
        <div className="truncated-bar" data-testid="error-truncated">
          <span>Showing the start of its message; the whole error is {formatBytes(bytes ?? 0)}</span>
          {onShowAll && (
            <button type="button" className="btn btn-small" data-testid="show-all" onClick={onShowAll}>
              Show all
            </button>
          )}
        </div>
      )}
      {Object.keys(rest).length > 0 && <JsonView value={rest} compact />}
      {typeof stack === 'string' && (
        <details className="error-stack">
          <summary>Stack trace</summary>
          <pre className="json json-compact">{stack}</pre>
        </details>
      )}
    </div>
  );
}
