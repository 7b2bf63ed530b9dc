import type { ApiError } from '../api/client';

/** An API error as the operator needs it: the stable code first, then the server's message. */
export function ErrorBanner({ error, testId = 'error-banner' }: { error: ApiError | undefined; testId?: string }) {
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert" data-testid={testId} data-code={error.code}>
      <code>{error.code}</code> {error.message}
    </div>
  );
}
