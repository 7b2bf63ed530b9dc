import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/db/open-database.js';
import { killAllCliProcesses, runCli, startCli, type CliProcess } from '../fixtures/cli-process.js';
import { seededRandom } from '../helpers/seeded-random.js';

/**
 * The embedded data dir under concurrent commands, with real processes. PGlite allows one process per data
 * dir, so a one-off command (`aries status` in a loop in another terminal) holds the dir for a moment
 * when no worker does. Such a short hold must not win over a worker: a worker that finds a command holding
 * the dir waits for it (saying so) and then takes the dir; a command that finds a worker starting, or
 * waiting to take the dir, waits for it and goes through it. Embedded only: a server has no such lock.
 */
const FIXTURE = 'test/fixtures/cli-workflows.ts';
const READY = /^aries worker \S+ running workflows /;
const HOLDER = [process.execPath, '--import', 'tsx', 'test/fixtures/hold-data-dir.ts'];
const root = mkdtempSync(join(tmpdir(), 'aries-held-race-'));
const seed = Number(process.env.ARIES_TEST_SEED ?? Date.now() % 100_000);
const random = seededRandom(seed);

afterEach(() => killAllCliProcesses());
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function worker(dataDir: string): CliProcess {
  return startCli(['worker', FIXTURE, '--concurrency', '4', '--lease-ms', '2000', '--data-dir', dataDir]);
}

async function statuses(dataDir: string): Promise<Map<string, string>> {
  const listed = await runCli(['list', '--limit', '500', '--json', '--data-dir', dataDir]);
  expect(listed.code, listed.stderr).toBe(0);
  const { executions } = JSON.parse(listed.stdout) as { executions: { id: string; status: string }[] };
  return new Map(executions.map((r) => [r.id, r.status]));
}

async function startDoubles(dataDir: string, from: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) {
    const started = await runCli(['start', 'cli-double', '--input', String(n), '--data-dir', dataDir]);
    expect(started.code, started.stderr).toBe(0);
    ids.push(started.stdout.trim());
  }
  return ids;
}

describe(`the embedded data dir held by a command while a worker starts (seed ${seed})`, () => {
  test('a worker started during a command\'s hold waits for it to end, says so, then takes the dir and runs the work', async () => {
    const dataDir = join(root, 'command-first');
    const first = worker(dataDir); // registers the workflows, then stops
    await first.waitFor(READY, 60_000);
    first.signal('SIGTERM');
    await first.exited;
    const ids = await startDoubles(dataDir, 1, 5); // no worker now: each start holds the dir for a moment
    const holder = startCli([dataDir, '3000'], { command: HOLDER });
    await holder.waitFor(/^holding PGlite at /);

    const w = worker(dataDir);
    await w.waitFor(READY, 60_000);
    expect(w.stderr).toMatch(/data dir .* is held for a moment by process \d+ \(.*hold-data-dir.*\); waiting for it to end before opening it/);
    expect((await holder.exited).stdout).toContain('released');
    // A command arriving now goes through the worker.
    await expect.poll(async () => [...(await statuses(dataDir)).entries()].filter(([id, s]) => ids.includes(id) && s === 'COMPLETED').length, {
      timeout: 30_000,
      interval: 200,
    }).toBe(5);
    expect(w.running).toBe(true);
  }, 120_000);

  test('a command that finds a worker starting (running initdb) waits for it and goes through it; the worker is not refused', async () => {
    for (let round = 0; round < 2; round++) {
      const dataDir = join(root, `worker-first-${round}`);
      const w = worker(dataDir);
      await pause(Math.floor(random.next() * 800)); // anywhere in the worker's first start
      const listed = await runCli(['list', '--json', '--data-dir', dataDir]);
      expect(listed.code, `${listed.stderr}\nworker:\n${w.stderr}`).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({ executions: [], nextCursor: null });
      await w.waitFor(READY, 60_000);
      expect(w.running, w.stderr).toBe(true);
      expect(w.stderr).not.toContain('DATA_DIR_LOCKED');
      w.signal('SIGTERM');
      await w.exited;
    }
  }, 180_000);

  test('a status loop while a worker is killed and replaced: the new worker always takes the dir and every execution finishes', async () => {
    const dataDir = join(root, 'status-loop');
    let w = worker(dataDir);
    await w.waitFor(READY, 60_000);
    const ids = await startDoubles(dataDir, 100, 20);

    // Another terminal: `aries status` over and over, as someone watching progress does.
    let looping = true;
    let commandsRun = 0;
    const commandFailures: string[] = [];
    const loop = (async () => {
      while (looping) {
        const shown = await runCli(['status', ids[commandsRun % ids.length]!, '--data-dir', dataDir]);
        if (shown.code !== 0) commandFailures.push(`exit ${shown.code}: ${shown.stderr}${shown.stdout === "" ? "" : ` (stdout: ${shown.stdout.slice(0, 300)})`}`);
        commandsRun++;
      }
    })();

    const killed: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      await pause(200 + Math.floor(random.next() * 800));
      killed.push(w.child.pid!);
      w.kill('SIGKILL');
      await w.exited;
      await pause(Math.floor(random.next() * 300)); // a command may take the dir in this gap
      w = worker(dataDir);
      await w.waitFor(READY, 60_000);
      expect(w.running, w.stderr).toBe(true);
    }
    await expect.poll(async () => [...(await statuses(dataDir)).values()].filter((s) => s === 'COMPLETED').length, {
      timeout: 60_000,
      interval: 300,
    }).toBe(20);
    looping = false;
    await loop;
    expect(commandsRun).toBeGreaterThan(0);
    // A command whose request was in flight at the worker it went through when that worker was killed
    // says so; nothing else may fail (no DATA_DIR_LOCKED, no command that took the dir from a worker).
    const unexplained = commandFailures.filter(
      (f) => !killed.some((pid) => f.includes(`cannot reach the process holding PGlite at ${dataDir} (via process ${pid})`)),
    );
    expect(unexplained).toEqual([]);
    expect(w.running).toBe(true);
  }, 240_000);

  test('a command whose holder is killed while it answers fails at once, naming that, instead of waiting for ever', async () => {
    const dataDir = join(root, 'holder-killed');
    const holder = startCli([dataDir, '60000'], { command: HOLDER });
    await holder.waitFor(/^holding PGlite at /);
    const opened = await openDatabase({ dataDir, ifDataDirHeld: 'connect' });
    try {
      expect(opened.db.description).toContain(`via process ${holder.child.pid}`);
      const slow = opened.db.query('SELECT pg_sleep(30)');
      const settled = slow.then(
        () => 'answered',
        (err: Error) => err.message,
      );
      await pause(300 + Math.floor(random.next() * 500));
      const killedAt = performance.now();
      holder.kill('SIGKILL');
      expect(await settled).toMatch(new RegExp(`^cannot reach the process holding PGlite at .* \\(via process ${holder.child.pid}\\): `));
      expect(performance.now() - killedAt).toBeLessThan(10_000); // not the 60 s timeout, and not never
    } finally {
      await opened.close();
    }
  }, 60_000);
});
