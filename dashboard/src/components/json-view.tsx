/**
 * Pretty JSON. A payload the server truncated (the `$truncated` marker) shows its preview, its full size
 * and a "Show all" button; the caller refetches with `?full=true`.
 */
import { isTruncated } from '../api/types';
import { formatBytes } from './format';

interface Props {
  value: unknown;
  onShowAll?: () => void;
  testId?: string;
  compact?: boolean;
}

export function JsonView({ value, onShowAll, testId, compact }: Props) {
  if (isTruncated(value)) {
    return (
      <div className="json-truncated" data-testid={testId} data-truncated="true">
        <pre className={`json ${compact ? 'json-compact' : ''}`}>{value.preview}…</pre>
        <div className="truncated-bar">
          <span>
            Showing the first {formatBytes(value.preview.length)} of {formatBytes(value.bytes)}
          </span>
          {onShowAll && (
            <button type="button" className="btn btn-small" data-testid="show-all" onClick={onShowAll}>
              Show all
            </button>
          )}
        </div>
      </div>
    );
  }
  const text = value === undefined ? '—' : JSON.stringify(value, null, 2);
  return (
    <pre className={`json ${compact ? 'json-compact' : ''}`} data-testid={testId} data-truncated="false">
      {text}
    </pre>
  );
}
