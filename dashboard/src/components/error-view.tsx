/**
 * A stored error (an execution's or a step's): its class and message first, the failure type as a badge,
 * the stack as readable lines (folded), and any other fields as JSON.
 */
import type { StoredError } from '../api/types';
import { FailureTypeBadge } from './badges';
import { JsonView } from './json-view';

export function ErrorView({ error, testId }: { error: StoredError; testId?: string }) {
  const { name, message, stack, failureType, code, ...rest } = error;
  return (
    <div className="error-view" data-testid={testId}>
      <div className="error-title">
        {typeof failureType === 'string' && <FailureTypeBadge type={failureType} />}
        {typeof name === 'string' && <span className="mono error-name">{name}</span>}
        {typeof code === 'string' && <code className="muted">{code}</code>}
      </div>
      <p className="error-message">{typeof message === 'string' ? message : JSON.stringify(message)}</p>
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
