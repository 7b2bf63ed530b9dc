/**
 * The one way the dashboard talks to the server: JSON over /api with the bearer token. A 401 tells the
 * app (through `onUnauthorized`) to ask for a token; every other error surfaces as an ApiError with the
 * server's stable code.
 */
import { getToken } from './token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the server answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** API paths are relative to the page, so the dashboard works under any prefix the server is mounted at. */
function url(path: string): string {
  return new URL(`.${path}`, window.location.href.split('#')[0]).toString();
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

async function request<T>(method: Method, path: string, body?: unknown, token = getToken()): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  // Every write is JSON: the server refuses a change that is not (a cross-site form cannot send it).
  const writes = method !== 'GET';
  if (writes) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url(path), { method, headers, body: writes ? JSON.stringify(body ?? {}) : undefined });
  } catch (err) {
    throw new ApiError(0, 'NETWORK_ERROR', `The server did not answer: ${(err as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    if (response.status === 401) unauthorizedListeners.forEach((l) => l());
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? (text.slice(0, 200) || response.statusText),
      error?.details,
    );
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, query?: Query, token?: string) => request<T>('GET', withQuery(path, query), undefined, token),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown = {}) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown = {}) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path, {}),
};
