/** Asks for the API token when the server refused the request (401); checks it before keeping it. */
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';

export function TokenForm({ rejected, onAccepted }: { rejected: boolean; onAccepted: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(rejected ? 'The saved token was rejected by the server.' : null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const candidate = token.trim();
    if (!candidate) return;
    setBusy(true);
    try {
      await api.get('/api/workflows', undefined, candidate);
      onAccepted(candidate);
    } catch (err) {
      const apiError = err instanceof ApiError ? err : undefined;
      setError(
        apiError?.status === 401
          ? `Wrong token: the server refused it (${apiError.code}).`
          : `Could not check the token: ${apiError ? `${apiError.code} ${apiError.message}` : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form className="panel login-panel" onSubmit={(e) => void submit(e)} data-testid="token-form">
        <div className="brand brand-dark">
          <span className="brand-mark">♈</span> Aries
        </div>
        <h1>API token</h1>
        <p className="muted">This server requires a token. Paste the one it was started with, or open the dashboard with <code>#token=…</code> in the URL.</p>
        {error && (
          <div className="banner banner-error" role="alert" data-testid="token-error">
            {error}
          </div>
        )}
        <input
          type="password"
          autoComplete="off"
          placeholder="Token"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          data-testid="token-input"
          aria-label="Token"
          autoFocus
        />
        <button type="submit" className="btn btn-primary" disabled={busy || !token.trim()} data-testid="token-submit">
          {busy ? 'Checking…' : 'Continue'}
        </button>
      </form>
    </div>
  );
}
