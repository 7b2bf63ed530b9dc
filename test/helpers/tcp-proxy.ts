/**
 * A TCP proxy between an engine and the PostgreSQL server, for network fault tests: a test points the
 * engine at `proxy.url(databaseUrl)` and cuts its connections when it chooses.
 *
 * The proxy frames both directions into protocol messages (type byte + int32 length; only the client's
 * first message, the startup packet, has no type byte). That is just enough of the wire protocol to cut
 * a connection at a precise moment of a query, not merely at some byte:
 *
 *   cutAll()                    every open connection at once (a network blip, a NAT table flushed)
 *   cutWhen(matches, moment)    the connection whose next request matches, once:
 *     'before-forward'  the request never reaches the server: nothing of it can commit
 *     'after-forward'   the request is forwarded, then both sockets close at once: the server may run
 *                       and commit it or not (PostgreSQL reads up to Sync and commits before it
 *                       notices, so in practice it does)
 *     'after-response'  the request is forwarded and the server's whole answer (up to ReadyForQuery, so
 *                       after its COMMIT) is swallowed, then both sockets close: the server committed,
 *                       the client cannot know
 *   refuseConnections(true)     new connections are accepted and reset at once (the server is unreachable)
 *
 * A request is what node-postgres sends for one query: Parse/Bind/Describe/Execute up to Sync (it writes
 * them corked, as one chunk), or a simple Query. Its text (the SQL and its parameters, decoded as UTF-8)
 * is what `matches` and `onRequest` see. No SSL: the test server has none, and the URL asks for none.
 */
import net from 'node:net';

export type CutMoment = 'before-forward' | 'after-forward' | 'after-response';

export interface TcpProxy {
  readonly port: number;
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string;
  /** Connections open now (client and server socket pairs). */
  readonly connectionCount: number;
  /** Connections forwarded since the proxy started (refused ones not counted). */
  readonly acceptedCount: number;
  /** Connections reset at once while refusing. */
  readonly refusedCount: number;
  /** Resets every open connection; returns how many there were. */
  cutAll(): number;
  /** Arms a one-shot cut of the first request that matches; resolves with its text once it is cut. */
  cutWhen(matches: (request: string) => boolean, moment: CutMoment): Promise<string>;
  /** Calls `listener` with the text of every request, before the proxy acts on it; returns the unsubscribe. */
  onRequest(listener: (request: string) => void): () => void;
  /** While true, new connections are reset as soon as they are accepted. */
  refuseConnections(refuse: boolean): void;
  /** Stops listening and resets every open connection. */
  close(): Promise<void>;
}

/** Splits a byte stream into whole protocol messages. */
class MessageFramer {
  private buffer: Buffer = Buffer.alloc(0);

  /** `untypedFirst`: the first message has no type byte (the client's startup packet). */
  constructor(private untypedFirst: boolean) {}

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: Buffer[] = [];
    for (;;) {
      const typeBytes = this.untypedFirst ? 0 : 1;
      if (this.buffer.length < typeBytes + 4) break;
      const size = typeBytes + this.buffer.readInt32BE(typeBytes); // the length counts itself, not the type
      if (this.buffer.length < size) break;
      messages.push(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
      this.untypedFirst = false;
    }
    return messages;
  }
}

/** Extended-query messages, held until the Sync (or Flush) that ends their request. */
const EXTENDED_QUERY = new Set(['P', 'B', 'D', 'E', 'C']);

interface Rule {
  matches: (request: string) => boolean;
  moment: CutMoment;
  resolve: (request: string) => void;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** Set by an 'after-response' cut: the server's messages are dropped until its ReadyForQuery. */
  swallow?: () => void;
}

export async function startTcpProxy(target: { targetPort: number; targetHost?: string }): Promise<TcpProxy> {
  const targetHost = target.targetHost ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  const rules: Rule[] = [];
  const listeners = new Set<(request: string) => void>();
  let accepted = 0;
  let refused = 0;
  let refusing = false;

  // A reset, as a network cut looks to the client (ECONNRESET); the server sees its client vanish and
  // rolls back whatever it had not committed.
  const cut = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.server.destroy();
  };

  const server = net.createServer((client) => {
    if (refusing) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const pair: Pair = { client, server: net.connect(target.targetPort, targetHost) };
    pairs.add(pair);
    client.setNoDelay(true);
    pair.server.setNoDelay(true);
    const forget = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      pair.server.destroy();
    };
    for (const socket of [client, pair.server]) {
      socket.on('error', forget);
      socket.on('close', forget);
    }

    const fromClient = new MessageFramer(true);
    let request: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      for (const message of fromClient.push(chunk)) {
        if (!pairs.has(pair)) return; // cut while this chunk was being read
        const type = String.fromCharCode(message[0]!);
        request.push(message);
        if (EXTENDED_QUERY.has(type)) continue;
        // Sync, Flush or Query end a request; anything else (startup, password, Terminate) is its own.
        const bytes = Buffer.concat(request);
        request = [];
        onClientRequest(pair, bytes);
      }
    });

    const fromServer = new MessageFramer(false);
    pair.server.on('data', (chunk: Buffer) => {
      for (const message of fromServer.push(chunk)) {
        if (!pairs.has(pair)) return;
        if (!pair.swallow) {
          client.write(message);
        } else if (message[0] === 'Z'.charCodeAt(0)) {
          pair.swallow(); // the server is done with the request (and committed it): now cut
        }
      }
    });
  });

  function onClientRequest(pair: Pair, bytes: Buffer): void {
    const text = bytes.toString('utf8');
    for (const listener of listeners) listener(text);
    const index = rules.findIndex((r) => r.matches(text));
    if (index < 0) {
      pair.server.write(bytes);
      return;
    }
    const [rule] = rules.splice(index, 1);
    if (rule!.moment === 'before-forward') {
      cut(pair);
      rule!.resolve(text);
    } else if (rule!.moment === 'after-forward') {
      pair.server.write(bytes);
      cut(pair);
      rule!.resolve(text);
    } else {
      pair.swallow = () => {
        cut(pair);
        rule!.resolve(text);
      };
      pair.server.write(bytes);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url(databaseUrl) {
      const u = new URL(databaseUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.searchParams.set('sslmode', 'disable');
      return u.toString();
    },
    get connectionCount() {
      return pairs.size;
    },
    get acceptedCount() {
      return accepted;
    },
    get refusedCount() {
      return refused;
    },
    cutAll() {
      const all = [...pairs];
      for (const pair of all) cut(pair);
      return all.length;
    },
    cutWhen(matches, moment) {
      return new Promise((resolve) => rules.push({ matches, moment, resolve }));
    },
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refuseConnections(refuse) {
      refusing = refuse;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) cut(pair);
      await closed;
    },
  };
}
