/**
 * A fresh, isolated store for every run verify makes, so no run sees another's executions, and all of
 * them removed at the end:
 *
 *   embedded  PGlite data dirs in a new temp directory; one is created and migrated once (a few seconds)
 *             and copied for each run (a fraction of a second). Nothing else holds them.
 *   server    a new database per run on the server the URL names (CREATE DATABASE aries_verify_<random>,
 *             dropped WITH (FORCE) at the end). Not a schema: Aries's schema is always named `aries`. The
 *             URL's user needs the CREATEDB privilege; the URL's own database is only used to connect.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateDatabaseUrl } from '../db/database-url.js';
import { PgDatabase } from '../db/pg-database.js';
import { InvalidInputError } from '../errors.js';
import { createEngine } from '../sdk/engine.js';

export type Store = { dataDir: string } | { databaseUrl: string };

export interface StoreFactory {
  /** For messages: where the stores are made. */
  readonly description: string;
  create(): Promise<Store>;
  /** Removes one store as soon as its run is judged (a PGlite data dir is ~40 MB). */
  release(store: Store): Promise<void>;
  /** Removes every store still there, and the factory's own resources. */
  cleanup(): Promise<void>;
}

export async function embeddedStores(parentDir: string): Promise<StoreFactory> {
  mkdirSync(resolve(parentDir), { recursive: true });
  const root = mkdtempSync(join(resolve(parentDir), 'aries-verify-'));
  const template = join(root, 'template');
  try {
    const engine = await createEngine({ dataDir: template, vacuumIntervalMs: 0, onError: () => {} });
    await engine.close();
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  let made = 0;
  return {
    description: `fresh PGlite data dirs in ${root}`,
    create: () => {
      const dataDir = join(root, `run-${++made}`);
      cpSync(template, dataDir, { recursive: true });
      return Promise.resolve({ dataDir });
    },
    release: (store) => {
      if ('dataDir' in store) {
        rmSync(store.dataDir, { recursive: true, force: true });
        rmSync(`${store.dataDir}.lock`, { force: true }); // left by a worker process that was killed
      }
      return Promise.resolve();
    },
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function serverStores(url: string): Promise<StoreFactory> {
  validateDatabaseUrl(url);
  const admin = await PgDatabase.connect({ url, poolSize: 2, applicationName: 'aries verify' });
  const made = new Map<string, string>(); // URL → database name
  const drop = async (name: string) => admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  return {
    description: `fresh databases on ${admin.description}`,
    create: async () => {
      const name = `aries_verify_${randomBytes(6).toString('hex')}`;
      try {
        await admin.exec(`CREATE DATABASE ${name}`);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new InvalidInputError(
          `verify creates a database per run on ${admin.description}, and CREATE DATABASE failed: ${reason} (the user needs the CREATEDB privilege)`,
        );
      }
      const databaseUrl = withDatabase(url, name);
      made.set(databaseUrl, name);
      return { databaseUrl };
    },
    release: async (store) => {
      if (!('databaseUrl' in store)) return;
      const name = made.get(store.databaseUrl);
      if (name === undefined) return;
      await drop(name);
      made.delete(store.databaseUrl);
    },
    cleanup: async () => {
      const left: string[] = [];
      for (const name of made.values()) await drop(name).catch(() => left.push(name));
      made.clear();
      await admin.close();
      if (left.length > 0) throw new Error(`could not drop the verify databases ${left.join(', ')} on ${admin.description}; drop them by hand`);
    },
  };
}
