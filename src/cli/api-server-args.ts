/**
 * What `aries serve` and `aries dev` share: who may call the API (a token from --token or
 * $ARIES_API_TOKEN, or --no-auth on loopback), checked before any database is opened and refused as a
 * usage error (exit 2); starting the server with a readable error for a port in use; and the line that
 * says where it is.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import type { Engine } from '../sdk/engine.js';
import { startApiServer, type ApiServer } from '../server/api-server.js';
import { checkAuthConfig } from '../server/request-auth.js';
import { defaultDashboardDir } from '../server/static-files.js';
import { CliError, UsageError } from './cli-error.js';
import { describeBackend } from './connection-args.js';

export interface ApiAuth {
  token: string | undefined;
  noAuth: boolean;
  /** The token was made up for this run (aries dev): it must be shown, since nobody else knows it. */
  generated: boolean;
}

/**
 * The API's auth from the command line and the environment. With `generate`, a missing token is made up
 * (24 random bytes, base64url) instead of refused.
 */
export function apiAuth(
  options: { host: string; token?: string | undefined; noAuth?: boolean | undefined; generate?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): ApiAuth {
  if (options.noAuth && options.token !== undefined) throw new UsageError('give --token or --no-auth, not both');
  const noAuth = options.noAuth ?? false;
  let token = noAuth ? undefined : options.token ?? (env.ARIES_API_TOKEN || undefined);
  let generated = false;
  if (!noAuth && token === undefined && options.generate) {
    token = randomBytes(24).toString('base64url');
    generated = true;
  }
  try {
    checkAuthConfig(options.host, { token, noAuth });
  } catch (err) {
    // A configuration that cannot be served is the command line's fault, like a bad option value.
    if (err instanceof InvalidInputError) throw new UsageError(err.message);
    throw err;
  }
  return { token, noAuth, generated };
}

/** The TLS key and certificate files of --tls-key and --tls-cert, read; both or neither. */
export function tlsFiles(keyFile: string | undefined, certFile: string | undefined): { key: Buffer; cert: Buffer } | undefined {
  if (keyFile === undefined && certFile === undefined) return undefined;
  if (keyFile === undefined || certFile === undefined) throw new UsageError('give --tls-key and --tls-cert together');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return { key: read(keyFile, 'key'), cert: read(certFile, 'certificate') };
}

/** Starts the API server on `engine`; a port in use is one clear line, not a stack. */
export async function serveApi(
  engine: Engine,
  options: { host: string; port: number; auth: ApiAuth; tls?: { key: Buffer; cert: Buffer } | undefined },
): Promise<ApiServer> {
  try {
    return await startApiServer({
      ...(options.tls ? { tls: options.tls } : {}),
      engine,
      host: options.host,
      port: options.port,
      token: options.auth.token,
      noAuth: options.auth.noAuth,
      onError: (err, context) => process.stderr.write(`aries: ${context}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new CliError(`${options.host}:${options.port} is in use; choose another port with --port (0: any free port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`cannot listen on ${options.host}: no such local address`);
    throw err;
  }
}

/** "aries: serving the API and dashboard at http://127.0.0.1:7070/ (PGlite at .aries)". */
export function servingLine(server: ApiServer, engine: Engine): string {
  const what = defaultDashboardDir() === undefined ? 'the API (the dashboard is not built: npm run build)' : 'the API and dashboard';
  return `aries: serving ${what} at ${server.url}/ (${describeBackend(engine)})\n`;
}
