/**
 * Who may call the API. With a token (config or ARIES_API_TOKEN) every /api call and /metrics must carry
 * `Authorization: Bearer <token>` (compared in constant time). Without one the server runs only when told
 * so explicitly (noAuth) and only on a loopback address. Either way a write must be JSON
 * (`Content-Type: application/json`, which a cross-site form cannot send without a CORS preflight this
 * server never grants); with noAuth it must also come from the origin it addressed (same-origin), and every
 * request's Host header must name a loopback address, so a DNS-rebinding page cannot reach it.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { InvalidInputError, RequestRefusedError } from '../errors.js';

export interface AuthOptions {
  token?: string | undefined;
  noAuth?: boolean | undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_HOSTS.has(host)) return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Refuses a configuration that would expose an unauthenticated API beyond this machine. */
export function checkAuthConfig(host: string, options: AuthOptions): void {
  if (options.noAuth) {
    if (!isLoopbackHost(host)) {
      throw new InvalidInputError(`--no-auth is allowed on a loopback address only; "${host}" is not one (set ARIES_API_TOKEN instead)`);
    }
    return;
  }
  if (options.token === undefined || options.token === '') {
    throw new InvalidInputError('the API needs a token: set ARIES_API_TOKEN (or pass --token), or start it with --no-auth on loopback');
  }
  if (options.token.length < 16) throw new InvalidInputError('the API token must be at least 16 characters');
  if (/\s/.test(options.token)) throw new InvalidInputError('the API token must not contain whitespace (it travels in an Authorization header)');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0]!;
}

export function authorize(req: IncomingMessage, options: AuthOptions, mutating: boolean): void {
  if (options.noAuth) {
    if (!isLoopbackHost(hostName(req.headers.host ?? ''))) {
      throw new RequestRefusedError('FORBIDDEN', 'this server answers only requests addressed to a loopback host');
    }
  } else {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new RequestRefusedError('UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>)');
    // Equal-length digests: the comparison takes the same time whatever the token's length or content.
    if (!timingSafeEqual(digest(match[1]!), digest(options.token!))) {
      throw new RequestRefusedError('UNAUTHORIZED', 'the bearer token is not valid for this server');
    }
  }
  if (mutating) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new RequestRefusedError('FORBIDDEN', 'a request that changes something must send Content-Type: application/json');
    }
    // With a token, a cross-site page cannot write anyway (a browser never adds our Authorization header
    // to its requests), and a dashboard behind an HTTPS proxy sends an https:// Origin: check it only
    // when there is no token.
    const origin = req.headers.origin;
    if (options.noAuth && origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
      throw new RequestRefusedError('FORBIDDEN', `a request from ${origin} may not change anything here`);
    }
  }
}
