/**
 * Opens the database an engine runs on: a PostgreSQL server when a URL is given, else the embedded
 * PGlite data dir — locked, with its control server published in the lock so other processes can reach
 * it — or, when that dir is held by another live process, a client of that process (if the caller
 * accepts one). A data dir is created atomically: PGlite's initdb runs in a scratch dir that is renamed
 * into place, so a kill during the first start never leaves a directory that cannot be opened.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DataDirLockedError, InvalidInputError } from '../errors.js';
import type { Database } from './database.js';
import { DataDirLock, type HolderRole, liveHolder, roleOf, waitingWorker, WorkerClaim } from './data-dir-lock.js';
import { exposureWarning, restrictDataDir } from './data-dir-permissions.js';
import { validateDatabaseUrl } from './database-url.js';
import { startControlServer } from './embedded-control-server.js';
import { PgDatabase } from './pg-database.js';
import { PGliteDatabase } from './pglite-database.js';
import { RemoteDatabase } from './remote-database.js';

export const DEFAULT_DATA_DIR = '.aries';

export interface ConnectionOptions {
  /** A PostgreSQL server (postgres://…). When absent, the embedded backend is used. */
  databaseUrl?: string | undefined;
  /** The embedded data dir (default `.aries` in the working directory). */
  dataDir?: string | undefined;
  /** An in-memory embedded instance: nothing is written to disk (tests, experiments). */
  inMemory?: boolean | undefined;
  /** When the data dir is held by another live process: 'error' (default) or 'connect' through it. */
  ifDataDirHeld?: 'error' | 'connect' | undefined;
  /** Size of the connection pool on a server (default 20). */
  poolSize?: number | undefined;
  /**
   * Where start-up warnings go (default: process.emitWarning): an embedded data dir found reachable by other
   * users (and repaired), a server running with fsync=off.
   */
  onWarning?: ((message: string) => void) | undefined;
}

export interface OpenedDatabase {
  db: Database;
  close(): Promise<void>;
}

async function createDataDirAtomically(dir: string): Promise<void> {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  // Scratch dirs left by a process killed during initdb; we hold the lock, so nobody else is using them.
  for (const entry of readdirSync(parent)) {
    if (entry.startsWith(`${basename(dir)}.initializing-`)) rmSync(resolve(parent, entry), { recursive: true, force: true });
  }
  const scratch = `${dir}.initializing-${process.pid}`;
  mkdirSync(scratch, { mode: 0o700 });
  const db = await PGliteDatabase.open(scratch);
  await db.close();
  restrictDataDir(scratch);
  renameSync(scratch, dir);
}

/** How long a connecting process waits for a holder that is still opening the data dir (initdb, first open). */
const HOLDER_OPENING_WAIT_MS = 30_000;

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function openEmbedded(
  dataDir: string,
  ifHeld: 'error' | 'connect',
  warn: (message: string) => void,
): Promise<OpenedDatabase> {
  const dir = resolve(dataDir);
  // A caller that would go through a holder is a command, holding the dir only for a moment; one that
  // would not is a worker (or an application's engine), holding it for its lifetime.
  const role: HolderRole = ifHeld === 'connect' ? 'command' : 'worker';
  let lock: DataDirLock;
  let claim: WorkerClaim | undefined;
  let saidWaiting = false;
  const deadline = Date.now() + HOLDER_OPENING_WAIT_MS;
  for (;;) {
    if (role === 'command') {
      // A worker is waiting to take the dir from a command: do not take it again before it; go through
      // the worker once it has opened the dir.
      const next = waitingWorker(dir);
      if (next !== undefined) {
        if (Date.now() >= deadline) {
          throw new DataDirLockedError(
            `data dir ${dir} is about to be taken by process ${next.pid} (${next.command}), which has not opened it in ` +
              `${HOLDER_OPENING_WAIT_MS / 1000} s; try again when it has`,
            next.pid,
          );
        }
        await pause(50);
        continue;
      }
    }
    try {
      lock = DataDirLock.acquire(dir, role);
      break;
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      const holder = liveHolder(dir);
      if (role === 'worker') {
        // A command's hold ends in a moment: wait for it (saying so) rather than leave the work unrun.
        if (holder === undefined || roleOf(holder) !== 'command') {
          claim?.withdraw();
          throw err;
        }
        claim ??= WorkerClaim.make(dir);
        if (!saidWaiting) {
          warn(`aries: data dir ${dir} is held for a moment by process ${holder.pid} (${holder.command}); waiting for it to end before opening it`);
          saidWaiting = true;
        }
        await pause(25);
        continue;
      }
      if (holder?.control) {
        const db = new RemoteDatabase({ ...holder.control, holderPid: holder.pid, description: `PGlite at ${dir} (via process ${holder.pid})` });
        return { db, close: () => db.close() };
      }
      // The holder took the lock but has not published its control server yet: it is still opening the
      // data dir (a first start runs initdb, seconds). Wait for it, or for the lock to be free (it died).
      if (Date.now() >= deadline) throw err;
      await pause(100);
    }
  }
  claim?.withdraw();
  try {
    if (!existsSync(resolve(dir, 'PG_VERSION'))) {
      if (existsSync(dir) && readdirSync(dir).length > 0) {
        throw new InvalidInputError(`${dir} exists but is not a PGlite data dir (it has no PG_VERSION); choose another --data-dir`);
      }
      rmSync(dir, { recursive: true, force: true });
      await createDataDirAtomically(dir);
    }
    const exposure = exposureWarning(dir, restrictDataDir(dir));
    if (exposure !== undefined) warn(`aries: ${exposure}`);
    const db = await PGliteDatabase.open(dir);
    const control = await startControlServer(db);
    lock.publishControl({ port: control.port, token: control.token });
    return {
      db,
      close: async () => {
        await control.close();
        await db.close();
        try {
          restrictDataDir(dir); // the files PGlite created while it ran
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export async function openDatabase(options: ConnectionOptions = {}): Promise<OpenedDatabase> {
  if (options.databaseUrl !== undefined) {
    validateDatabaseUrl(options.databaseUrl);
    const db = await PgDatabase.connect({ url: options.databaseUrl, poolSize: options.poolSize });
    return { db, close: () => db.close() };
  }
  if (options.inMemory) {
    const db = await PGliteDatabase.open(undefined);
    return { db, close: () => db.close() };
  }
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'ARIES_DATA_DIR' }));
  return openEmbedded(options.dataDir ?? DEFAULT_DATA_DIR, options.ifDataDirHeld ?? 'error', warn);
}
