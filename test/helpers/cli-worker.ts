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

export interface CliWorkerPlace extends CliPlace {
  worker: CliProcess;
}

/** A temp dir and a database of a suite's own: what useCliWorker runs its worker on, without the worker. */
export interface CliPlace {
  tmp: string;
  /** The flags that point a CLI command at the suite's database. */
  connection: string[];
  /** PGlite: the data dir inside tmp; undefined on the server. */
  dataDir: string | undefined;
  /** The server: the suite's database; undefined on PGlite. */
  databaseUrl: string | undefined;
}

/**
 * Registers the hooks that make the place before the suite (a data dir inside a temp dir on PGlite, a
 * fresh database on the server) and take it down after, every CLI process started here with it.
 * `name` names the temp dir (aries-<name>-) and the server database. Filled in once beforeAll has run.
 */
export function useCliPlace<P extends CliPlace = CliPlace>(backend: BackendName, name: string): P {
  const place = { dataDir: undefined, databaseUrl: undefined } as P;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    place.tmp = mkdtempSync(join(tmpdir(), `aries-${name}-`));
    if (backend === 'pglite') {
      place.dataDir = join(place.tmp, 'data');
      place.connection = ['--data-dir', place.dataDir];
    } else {
      const db = await createTestDatabase(name.replaceAll('-', '_'));
      drop = db.drop;
      place.databaseUrl = db.url;
      place.connection = ['--database-url', db.url];
    }
  });

  afterAll(async () => {
    await killAllCliProcesses();
    await drop?.();
    rmSync(place.tmp, { recursive: true, force: true });
  });

  return place;
}

export function useCliWorker(backend: BackendName, settings: CliWorkerSettings): CliWorkerPlace {
  const place = useCliPlace<CliWorkerPlace>(backend, settings.name);

  beforeAll(async () => {
    place.worker = startCli(['worker', settings.fixture, ...(settings.workerArgs ?? []), ...place.connection]);
    const ready = await place.worker.waitFor(READY);
    for (const key of settings.workflows) expect(ready).toContain(key);
  });

  afterEach(() => {
    expect(place.worker.running, `the worker exited:\n${place.worker.stdout}${place.worker.stderr}`).toBe(true);
  });

  // Before useCliPlace's afterAll (vitest runs afterAll hooks in reverse order): a graceful stop first.
  afterAll(async () => {
    if (place.worker?.running) {
      place.worker.signal('SIGTERM');
      await place.worker.exited;
    }
  });

  return place;
}
