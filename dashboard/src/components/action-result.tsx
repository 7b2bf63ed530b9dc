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

/** `testId` names the banner for the page's tests when one page shows more than one kind of outcome. */
export function ActionResult({ result, onDismiss, testId = 'action-result' }: { result: ActionOutcome | null; onDismiss: () => void; testId?: string }) {
  if (!result) return null;
  return (
    <div
      className={`banner ${result.kind === 'ok' ? 'banner-ok' : 'banner-error'}`}
      role={result.kind === 'error' ? 'alert' : 'status'}
      data-testid={testId}
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
