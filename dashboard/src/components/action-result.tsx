/** What an operator's action answered: the outcome, or the error with its stable code; dismissable. */
import { ApiError } from '../api/client';

export interface ActionOutcome {
  kind: 'ok' | 'error';
  text: string;
  code?: string;
}

/** An action's error as an outcome to show (the server's code and message). */
export function failedOutcome(err: unknown): ActionOutcome {
  const e = err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', String(err));
  return { kind: 'error', code: e.code, text: e.message };
}

export function ActionResult({ result, onDismiss }: { result: ActionOutcome | null; onDismiss: () => void }) {
  if (!result) return null;
  return (
    <div
      className={`banner ${result.kind === 'ok' ? 'banner-ok' : 'banner-error'}`}
      role={result.kind === 'error' ? 'alert' : 'status'}
      data-testid="action-result"
      data-kind={result.kind}
      data-code={result.code}
    >
      {result.code && <code>{result.code}</code>} {result.text}
      <button type="button" className="banner-close" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
