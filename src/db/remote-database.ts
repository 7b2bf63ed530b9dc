/**
 * A Database that reaches an embedded instance held by another process, through that process's control
 * server. Every call is one statement; transactions are not available this way (see
 * embedded-control-server.ts), so only single-call operations (start, status, list, migrate) run here.
 * A call ends when its answer is read, when the holder does not answer in time, or when the holder process
 * is seen to have exited (checked while the call waits): a holder killed mid-answer fails the call at once
 * with a clear error, instead of leaving it waiting on a connection nothing will ever finish.
 */
import { DatabaseUnreachableError } from '../errors.js';
import type { Database, Notification, Transaction } from './database.js';
import type { MigrationResult } from './migrate.js';

export class RemoteDatabase implements Database {
  readonly kind = 'remote' as const;
  readonly description: string;
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly holderPid: number | undefined;

  constructor(args: { port: number; token: string; description: string; timeoutMs?: number; holderPid?: number }) {
    this.base = `http://127.0.0.1:${args.port}`;
    this.token = args.token;
    this.description = args.description;
    this.timeoutMs = args.timeoutMs ?? 60_000;
    this.holderPid = args.holderPid;
  }

  private holderExited(): boolean {
    if (this.holderPid === undefined) return false;
    try {
      process.kill(this.holderPid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }

  private async call<T>(path: string, body: unknown): Promise<T> {
    const abort = new AbortController();
    // Both timers keep the process alive while the call waits (an unref'd one would let it exit mid-call).
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    const watch = setInterval(() => {
      if (this.holderExited()) abort.abort(new Error(`the holder, process ${this.holderPid}, exited during the call`));
    }, 100);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: abort.signal,
      });
      text = await res.text();
    } catch (err) {
      const reason = abort.signal.aborted ? String((abort.signal.reason as Error).message) : String(err);
      throw new DatabaseUnreachableError(`cannot reach the process holding ${this.description}: ${reason}`, err);
    } finally {
      clearTimeout(timeout);
      clearInterval(watch);
    }
    if (res.status === 200) return JSON.parse(text) as T;
    if (res.status === 500) {
      const { error } = JSON.parse(text) as { error: Record<string, unknown> };
      // Rebuild an error carrying the same fields, so SQLSTATE translation works as if local.
      throw Object.assign(new Error(String(error.message)), error);
    }
    throw new DatabaseUnreachableError(`the process holding ${this.description} answered HTTP ${res.status}`);
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.call<{ rows: Row[] }>('/query', { sql, params })).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.call('/exec', { sql });
  }

  async migrate(): Promise<MigrationResult> {
    return this.call<MigrationResult>('/migrate', {});
  }

  async transaction<T>(_fn: (tx: Transaction) => Promise<T>): Promise<T> {
    throw new Error(`transactions cannot span calls to the process holding ${this.description}`);
  }

  async listen(_channel: string, _onNotify: (n: Notification) => void): Promise<() => Promise<void>> {
    return async () => {}; // callers poll
  }

  async close(): Promise<void> {}
}
