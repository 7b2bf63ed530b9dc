/** What a route is: a method, a path pattern with `{name}` parameters, and a handler over the engine. */
import type { Engine } from '../sdk/engine.js';

export interface RouteContext {
  engine: Engine;
  /** The path's `{name}` parameters, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body of a POST, PUT, PATCH or DELETE (an empty object when none was sent). */
  body: Record<string, unknown>;
  /** Whether this server asks for a bearer token. */
  authRequired: boolean;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** Sent as is with this content type instead of JSON. */
  text?: { contentType: string; content: string };
}

export interface Route {
  /** Every method but GET changes something: it needs a JSON body (may be empty) and passes the write checks. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As in the OpenAPI document, e.g. /api/executions/{id}/cancel. */
  path: string;
  /** The fields a body of this route may have (none when left out); any other field is refused with 422,
   *  so a misspelt option (`idempotency_key`) is never silently ignored. GET routes take no body. */
  bodyFields?: readonly string[];
  handle: (ctx: RouteContext) => Promise<RouteResult>;
}
