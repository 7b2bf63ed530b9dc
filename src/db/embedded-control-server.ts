/**
 * The process that holds an embedded data dir serves its instance to other local processes (the CLI,
 * another script) over HTTP on loopback, authenticated by a random token kept in the 0600 lock file.
 * Opening the directory a second time would corrupt it; going through its holder is the only safe way
 * in. Each request is one statement (or the migration runner): no transaction spans two requests, so a
 * remote caller can never stall the holder's queue by leaving a transaction open.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from './database.js';
import { migrate } from './migrate.js';

export interface ControlServer {
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorBody(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown>;
  const body: Record<string, unknown> = { message: e.message, name: e.name };
  for (const key of ['code', 'hint', 'detail', 'details', 'holderPid']) if (e[key] !== undefined) body[key] = e[key];
  return body;
}

export async function startControlServer(db: Database): Promise<ControlServer> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401).end();
        return;
      }
      try {
        const body = JSON.parse((await readBody(req)) || '{}') as { sql?: string; params?: unknown[] };
        let result: unknown;
        if (req.url === '/query' && typeof body.sql === 'string') {
          result = { rows: await db.query(body.sql, body.params ?? []) };
        } else if (req.url === '/exec' && typeof body.sql === 'string') {
          await db.exec(body.sql);
          result = {};
        } else if (req.url === '/migrate') {
          result = await migrate(db);
        } else {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: errorBody(err) }));
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  // A client waiting on a long query must not keep the holder from exiting.
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    port,
    token,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
