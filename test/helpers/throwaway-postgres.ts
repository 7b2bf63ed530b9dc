/**
 * A PostgreSQL server of a test's own, to crash and restart without touching anyone else's: initdb into a
 * fresh temp dir, listening on a free loopback port only (its socket in that dir), started and stopped with
 * pg_ctl on that data dir alone. The tests run as root and PostgreSQL refuses to, so the server binaries run
 * as the `postgres` OS user (runuser) and the dir is theirs. ARIES_TEST_PG_BIN names the binaries' directory
 * (default /usr/lib/postgresql/15/bin). `remove()` stops it (immediate) and deletes the dir; it is safe to
 * call whatever state the server is in, and the test process's exit does the same if nobody called it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PG_BIN = process.env.ARIES_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

export interface ThrowawayPostgres {
  readonly port: number;
  readonly dataDir: string;
  /** A connection URL to `database` on this server (trust auth, user postgres). */
  url(database?: string): string;
  /** pg_ctl start, waiting until it accepts connections (after crash recovery, if any). */
  start(): Promise<void>;
  /** pg_ctl stop -m immediate: every server process killed at once, nothing flushed on the way out. */
  crash(): Promise<void>;
  /** Stops it if it runs and deletes its dir. */
  remove(): Promise<void>;
}

/** Why this machine cannot run one (no binaries, no postgres user, not root), or undefined. */
export function throwawayPostgresUnavailable(): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) return `no initdb/pg_ctl in ${PG_BIN} (set ARIES_TEST_PG_BIN)`;
  if (process.getuid?.() !== 0) return 'not running as root: runuser cannot switch to the postgres user';
  try {
    execFileSync('id', ['-u', OS_USER], { stdio: 'pipe' });
  } catch {
    return `no "${OS_USER}" OS user`;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const asPostgres = (binary: string, args: string[]) => run('runuser', ['-u', OS_USER, '--', join(PG_BIN, binary), ...args]);

export interface ThrowawayOptions {
  /** More postgresql.conf lines, e.g. "shared_preload_libraries = 'pg_cron'". */
  extraConf?: string[];
}

export async function createThrowawayPostgres(options: ThrowawayOptions = {}): Promise<ThrowawayPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'aries-throwaway-pg-'));
  const uid = Number(execFileSync('id', ['-u', OS_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', OS_USER]).toString().trim());
  chownSync(root, uid, gid);
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  let port = 0;
  const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', dataDir, ...args]);
  const running = () => existsSync(join(dataDir, 'postmaster.pid'));
  try {
    await asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    port = await freePort();
    if (port === 5432) throw new Error('refusing port 5432: it is the machine\'s own server');
    // fsync stays on: what a committed transaction is must survive the crash as on a real server.
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# the throwaway server of a fault test',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root}'`,
        'max_connections = 100',
        'shared_buffers = 32MB',
        'fsync = on',
        ...(options.extraConf ?? []),
        '',
      ].join('\n'),
    );
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  // If the test process ends without afterAll (killed by a timeout), the server must not outlive it.
  const onExit = () => {
    try {
      if (running()) execFileSync('runuser', ['-u', OS_USER, '--', join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
    } catch {
      // nothing more can be done on the way out
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const server: ThrowawayPostgres = {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await pgCtl('-l', logFile, '-w', '-t', '60', 'start');
    },
    async crash() {
      await pgCtl('-m', 'immediate', '-w', 'stop');
    },
    async remove() {
      try {
        if (running()) await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {});
      } finally {
        process.off('exit', onExit);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  return server;
}
