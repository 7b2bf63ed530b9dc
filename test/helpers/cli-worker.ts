/**
 * The setup the CLI integration suites share: a temp dir and a database of their own (a data dir inside
 * the temp dir on PGlite, a fresh database on the server), one `aries worker` process running a fixture's
 * workflows, checked alive after each test, and all of it taken down after the suite. Call it inside the
 * suite's describe block: it registers the beforeAll / afterEach / afterAll hooks and returns the place,
 * filled in once beforeAll has run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { killAllCliProcesses, startCli, type CliProcess } from '../fixtures/cli-process.js';
import type { BackendName } from './backends.js';
import { createTestDatabase } from './server.js';

const READY = /^aries worker \S+ running workflows /;

export interface CliWorkerSettings {
  /** Names the temp dir (aries-<name>-) and the server database. */
  name: string;
  /** The workflows module the worker runs, relative to the repository. */
  fixture: string;
  /** More arguments for `aries worker` (e.g. --concurrency). */
  workerArgs?: string[];
  /** name@version keys the worker must say it runs before the suite starts. */
  workflows: string[];
}

export interface CliWorkerPlace {
  tmp: string;
  /** The flags that point a CLI command at the suite's database. */
  connection: string[];
  /** PGlite: the data dir the worker holds; undefined on the server. */
  dataDir: string | undefined;
  /** The server: the suite's database; undefined on PGlite. */
  databaseUrl: string | undefined;
  worker: CliProcess;
}

export function useCliWorker(backend: BackendName, settings: CliWorkerSettings): CliWorkerPlace {
  const place = { dataDir: undefined, databaseUrl: undefined } as CliWorkerPlace;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    place.tmp = mkdtempSync(join(tmpdir(), `aries-${settings.name}-`));
    if (backend === 'pglite') {
      place.dataDir = join(place.tmp, 'data');
      place.connection = ['--data-dir', place.dataDir];
    } else {
      const db = await createTestDatabase(settings.name.replaceAll('-', '_'));
      drop = db.drop;
      place.databaseUrl = db.url;
      place.connection = ['--database-url', db.url];
    }
    place.worker = startCli(['worker', settings.fixture, ...(settings.workerArgs ?? []), ...place.connection]);
    const ready = await place.worker.waitFor(READY);
    for (const key of settings.workflows) expect(ready).toContain(key);
  });

  afterEach(() => {
    expect(place.worker.running, `the worker exited:\n${place.worker.stdout}${place.worker.stderr}`).toBe(true);
  });

  afterAll(async () => {
    if (place.worker?.running) {
      place.worker.signal('SIGTERM');
      await place.worker.exited;
    }
    await killAllCliProcesses();
    await drop?.();
    rmSync(place.tmp, { recursive: true, force: true });
  });

  return place;
}
