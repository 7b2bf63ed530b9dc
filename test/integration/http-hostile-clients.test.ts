import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { TOKEN } from '../helpers/openapi-schema.js';

/**
 * The HTTP server under hostile clients, with real sockets on loopback: a client trickling a body after
 * its 401 is cut off, an idle connection past the headers timeout is closed, connections beyond the cap
 * are closed at once while the server keeps answering, and HTTPS with a key and certificate.
 */

interface Watched {
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
}

/** A raw connection that records what it received and when (ms after opening) it was closed. */
function open(port: number): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    let onClose: (ms: number) => void = () => {};
    const closed = new Promise<number>((r) => (onClose = r));
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, received: () => data, closed }));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => onClose(Date.now() - started));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describeBackends('HTTP server under hostile clients', (b) => {
  const servers: ApiServer[] = [];
  const warnings: string[] = [];
  async function serve(options: Partial<Parameters<typeof startApiServer>[0]> = {}) {
    const server = await startApiServer({
      engine: b.engine,
      port: 0,
      token: TOKEN,
      dashboardDir: false,
      onError: () => {},
      onWarning: (m) => warnings.push(m),
      ...options,
    });
    servers.push(server);
    return server;
  }
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  test('an unauthenticated client trickling a body gets its 401 and the connection is closed, not kept for the rest', async () => {
    const server = await serve();
    const c = await open(server.port);
    c.socket.write('POST /api/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    const trickle = setInterval(() => c.socket.writable && c.socket.write(' '), 50);
    const ms = await c.closed;
    clearInterval(trickle);
    expect(c.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(c.received().toLowerCase()).toContain('connection: close');
    expect(ms).toBeLessThan(10_000); // the headers and request timeouts are far longer: the refusal closed it
  });

  test('a connection that sends nothing is closed after the headers timeout; one trickling headers too', async () => {
    const server = await serve({ timeouts: { headersMs: 400, requestMs: 800 } });
    const idle = await open(server.port);
    const slow = await open(server.port);
    slow.socket.write('GET /api/health HTTP/1.1\r\n');
    const trickle = setInterval(() => slow.socket.writable && slow.socket.write('X-Slow: 1\r\n'), 100);
    const [idleMs, slowMs] = await Promise.all([idle.closed, slow.closed]);
    clearInterval(trickle);
    expect(idleMs).toBeLessThan(15_000);
    expect(slowMs).toBeLessThan(15_000);
    expect(slow.received()).not.toMatch(/ 200 /);
  });

  test('connections beyond the cap are closed at once; the server answers again when they go', async () => {
    const server = await serve({ maxConnections: 5, timeouts: { headersMs: 60_000, requestMs: 60_000 } });
    const held = await Promise.all(Array.from({ length: 5 }, () => open(server.port)));
    const extra = await Promise.all(Array.from({ length: 10 }, () => open(server.port)));
    const closedAtOnce = await Promise.all(extra.map((c) => Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))])));
    expect(closedAtOnce.every(Boolean)).toBe(true);
    for (const c of held) expect(await Promise.race([c.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 100))])).toBe('open');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });

  test('with a TLS key and certificate it serves HTTPS; plain HTTP off loopback is warned about, on loopback not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aries-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      const server = await serve({ tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(`${server.url}/api/health`, { ca: readFileSync(join(dir, 'cert.pem')), headers: { authorization: `Bearer ${TOKEN}` }, checkServerIdentity: () => undefined }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toMatchObject({ ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(warnings).toEqual([]);
    await serve({ host: '0.0.0.0' });
    expect(warnings).toEqual([expect.stringMatching(/^serving plain HTTP on 0\.0\.0\.0: the bearer token and every answer cross the network unencrypted/)]);
  });
});
