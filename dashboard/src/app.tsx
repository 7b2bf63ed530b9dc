/**
 * The shell: checks the server (and the token) once, then shows the navigation and the page the hash
 * route names. Any 401 later brings the token form back.
 */
import { useEffect, useState } from 'react';
import { api, ApiError, onUnauthorized } from './api/client';
import { getToken, setToken } from './api/token';
import type { Health } from './api/types';
import { ErrorBanner } from './components/error-banner';
import { TokenForm } from './components/token-form';
import { href, useRoute } from './hooks/use-route';
import { ExecutionPage } from './execution/execution-page';
import { ExecutionsPage } from './pages/executions-page';
import { FailuresPage } from './pages/failures-page';
import { OverviewPage } from './pages/overview-page';
import { QueuesPage } from './pages/queues-page';
import { SchedulesPage } from './pages/schedules-page';
import { WorkersPage } from './pages/workers-page';

type Auth = { state: 'checking' } | { state: 'ok' } | { state: 'needed'; rejected: boolean } | { state: 'down'; error: ApiError };

const NAV = [
  { path: '', label: 'Overview' },
  { path: 'executions', label: 'Executions' },
  { path: 'failures', label: 'Failures' },
  { path: 'queues', label: 'Queues' },
  { path: 'schedules', label: 'Schedules' },
  { path: 'workers', label: 'Workers' },
];

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [health, setHealth] = useState<Health | undefined>();

  useEffect(() => {
    api.get<Health>('/api/health').then(setHealth, () => undefined);
    api.get('/api/workflows').then(
      () => setAuth({ state: 'ok' }),
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setAuth({ state: 'needed', rejected: getToken() !== null });
        else setAuth({ state: 'down', error: err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', String(err)) });
      },
    );
    return onUnauthorized(() => setAuth({ state: 'needed', rejected: getToken() !== null }));
  }, []);

  if (auth.state === 'checking') return <div className="placeholder">Connecting…</div>;
  if (auth.state === 'needed') {
    return (
      <TokenForm
        rejected={auth.rejected}
        onAccepted={(token) => {
          setToken(token);
          setAuth({ state: 'ok' });
        }}
      />
    );
  }

  const [section = '', id] = route.path;
  let page;
  if (auth.state === 'down') page = <ErrorBanner error={auth.error} />;
  else if (section === '') page = <OverviewPage />;
  else if (section === 'executions' && id) page = <ExecutionPage key={id} id={id} route={route} />;
  else if (section === 'executions') page = <ExecutionsPage route={route} />;
  else if (section === 'failures') page = <FailuresPage route={route} />;
  else if (section === 'queues') page = <QueuesPage />;
  else if (section === 'schedules') page = <SchedulesPage />;
  else if (section === 'workers') page = <WorkersPage />;
  else page = <p data-testid="not-found">No such page: {section}</p>;

  return (
    <div className="layout">
      <aside className="sidebar">
        <a className="brand" href={href('/')}>
          <span className="brand-mark">♈</span> Aries
        </a>
        <nav>
          {NAV.map((item) => (
            <a key={item.label} href={href(`/${item.path}`)} className={section === item.path ? 'active' : ''} data-testid={`nav-${item.label.toLowerCase()}`}>
              {item.label}
            </a>
          ))}
        </nav>
        {health && (
          <div className="sidebar-foot" data-testid="health">
            <div>{health.backend === 'pglite' ? 'PGlite (embedded)' : 'PostgreSQL'}</div>
            <div>v{health.version}</div>
            {getToken() && health.auth && (
              <button
                type="button"
                className="btn btn-link btn-small"
                onClick={() => {
                  setToken(null);
                  setAuth({ state: 'needed', rejected: false });
                }}
              >
                Forget token
              </button>
            )}
          </div>
        )}
      </aside>
      <main className="content">{page}</main>
    </div>
  );
}
