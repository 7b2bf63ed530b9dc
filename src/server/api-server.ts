/**
 * The HTTP server of `aries serve` and `aries dev`: the JSON API under /api (described by /openapi.json),
 * Prometheus metrics at /metrics, and the dashboard at every other path. Node's own http module and a
 * table of routes: no framework, nothing between a request and the engine but auth, the body reader and
 * the one error map (http-errors.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { RequestRefusedError } from '../errors.js';
import type { Engine } from '../sdk/engine.js';
import { errorResponse } from './http-errors.js';
import { openApiDocument } from './openapi.js';
import { authorize, checkAuthConfig, isLoopbackHost } from './request-auth.js';
import { readJsonBody } from './request-body.js';
import { refuseUnknownFields } from './query-params.js';
import type { Route, RouteResult } from './route.js';
import { executionRoutes } from './routes/executions.js';
import { failureRoutes } from './routes/failures.js';
import { operationRoutes } from './routes/operations.js';
import { purgeRoutes } from './routes/purges.js';
import { queueRoutes } from './routes/queues.js';
import { retentionRoutes } from './routes/retention.js';
import { scheduleRoutes } from './routes/schedules.js';
import { defaultDashboardDir, readStaticFile } from './static-files.js';

export const DEFAULT_PORT = 7070;

export const API_ROUTES: readonly Route[] = [
  ...executionRoutes,
  ...failureRoutes,
  ...operationRoutes,
  ...queueRoutes,
  ...scheduleRoutes,
  ...retentionRoutes,
  ...purgeRoutes,
];

export interface ApiServerOptions {
  engine: Engine;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** The bearer token every API call must carry (default: $ARIES_API_TOKEN). */
  token?: string;
  /** Serve without a token: allowed on a loopback host only. */
  noAuth?: boolean;
  /** The built dashboard (default: dist/dashboard); false serves none. */
  dashboardDir?: string | false;
  /** Largest request body accepted (default 16 MiB). */
  maxBodyBytes?: number;
  /** Where errors that became a 500 go (default: console.error). */
  onError?: (err: unknown, context: string) => void;
  /** Serve HTTPS with this key and certificate (PEM). Without them, plain HTTP: a warning off loopback. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** How long a client may take to send its headers (default 10 s), its whole request (default 30 s),
   *  and how long an idle kept-alive connection stays open (default 5 s). A slow client is cut off. */
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number };
  /** Connections open at once (default 256); one beyond is closed at once. */
  maxConnections?: number;
  /** Where the plain-HTTP warning goes (default: stderr). */
  onWarning?: (message: string) => void;
}

export interface ApiServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, pattern: new RegExp(`^${source}$`), names };
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const DASHBOARD_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestRefusedError('MALFORMED_REQUEST', `"${segment}" in the path is not valid percent-encoding`);
  }
}

function send(res: ServerResponse, status: number, result: RouteResult | { body: unknown }): void {
  const text = 'text' in result ? result.text : undefined;
  const content = text ? text.content : JSON.stringify(result.body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': text ? text.contentType : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(content),
  });
  res.end(content);
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const auth = { token: options.token ?? process.env.ARIES_API_TOKEN, noAuth: options.noAuth ?? false };
  checkAuthConfig(host, auth);
  const routes = API_ROUTES.map(compile);
  const dashboardDir = options.dashboardDir === false ? undefined : (options.dashboardDir ?? defaultDashboardDir());
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const onError = options.onError ?? ((err, context) => console.error(`aries: ${context}:`, err));
  const { engine } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new RequestRefusedError('MALFORMED_REQUEST', 'the request target is not a valid URL path');
    }
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/openapi.json' && method === 'GET') return send(res, 200, { body: openApiDocument() });
    if (path === '/metrics') {
      authorize(req, auth, false);
      if (method !== 'GET') throw new RequestRefusedError('METHOD_NOT_ALLOWED', `${method} ${path} is not allowed; use GET`);
      return send(res, 200, { body: null, text: { contentType: 'text/plain; version=0.0.4; charset=utf-8', content: await engine.admin.renderMetrics() } });
    }
    if (path === '/api' || path.startsWith('/api/')) {
      const matches = routes.map((r) => ({ r, m: r.pattern.exec(path) })).filter((x) => x.m !== null);
      if (matches.length === 0) throw new RequestRefusedError('NOT_FOUND', `no API endpoint at ${path} (see /openapi.json)`);
      const found = matches.find((x) => x.r.method === method);
      if (!found) {
        res.setHeader('allow', [...new Set(matches.map((x) => x.r.method))].join(', '));
        throw new RequestRefusedError('METHOD_NOT_ALLOWED', `${method} ${path} is not allowed; use ${matches.map((x) => x.r.method).join(' or ')}`);
      }
      const mutating = found.r.method !== 'GET';
      authorize(req, auth, mutating);
      const params: Record<string, string> = {};
      found.r.names.forEach((name, i) => (params[name] = decodePathSegment(found.m![i + 1]!)));
      const body = mutating ? await readJsonBody(req, maxBodyBytes) : {};
      if (mutating) refuseUnknownFields(body, found.r.bodyFields ?? []);
      const result = await found.r.handle({ engine, params, query: url.searchParams, body, authRequired: !auth.noAuth });
      return send(res, result.status ?? 200, result);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new RequestRefusedError('METHOD_NOT_ALLOWED', `${method} ${path} is not allowed`);
    const file = dashboardDir ? await readStaticFile(dashboardDir, path) : undefined;
    if (!file) throw new RequestRefusedError('NOT_FOUND', dashboardDir ? `nothing at ${path}` : 'the dashboard is not built (run npm run build)');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-security-policy': DASHBOARD_CSP,
      'content-type': file.contentType,
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'content-length': file.content.length,
    });
    res.end(method === 'HEAD' ? undefined : file.content);
  }

  const headersMs = options.timeouts?.headersMs ?? 10_000;
  const requestMs = Math.max(options.timeouts?.requestMs ?? 30_000, headersMs);
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      const { status, body, internal } = errorResponse(err);
      if (internal) onError(err, `${req.method} ${req.url}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A refused request whose body was not read (a 401 before a trickled upload, a 413): answer, then
      // close the connection instead of reading the rest or keeping it alive for the next request.
      if (!req.complete) {
        res.setHeader('connection', 'close');
        res.once('finish', () => {
          req.socket.end();
          setTimeout(() => req.socket.destroy(), 1_000).unref();
        });
      }
      send(res, status, { body });
    });
  };
  // the check of headersTimeout and requestTimeout runs this often (Node's default is 30 s)
  const serverOptions = { connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersMs / 2))) };
  const server = options.tls
    ? createTlsServer({ ...serverOptions, key: options.tls.key, cert: options.tls.cert }, listener)
    : createServer(serverOptions, listener);
  server.headersTimeout = headersMs;
  server.requestTimeout = requestMs;
  server.keepAliveTimeout = options.timeouts?.keepAliveMs ?? 5_000;
  server.maxConnections = options.maxConnections ?? 256;
  if (!options.tls && !isLoopbackHost(host)) {
    (options.onWarning ?? ((m: string) => process.stderr.write(`aries: warning: ${m}\n`)))(
      `serving plain HTTP on ${host}: the bearer token and every answer cross the network unencrypted; give a TLS key and certificate (--tls-key, --tls-cert) or put a TLS proxy in front`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  return {
    url,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
