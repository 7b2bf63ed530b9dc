import { chmodSync, chownSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defineWorkflow, Engine } from '../../src/index.js';

/**
 * The embedded data dir holds every input and output (its WAL too), so only its owner may reach it: dirs
 * 0700, files 0600, at creation and at every open, whatever the umask; a dir found open to other users is
 * repaired with a warning; one owned by another user is refused. Embedded only: a server's data directory
 * is the server's business.
 */
const root = mkdtempSync(join(tmpdir(), 'aries-perms-'));
let umask: number;
beforeAll(() => {
  umask = process.umask(0o022); // the common default, under which PGlite's files came out 0666
});
afterAll(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

const secretive = defineWorkflow('perms-secretive', async (ctx, input: { card: string }) =>
  ctx.step('charge', () => `charged ${input.card.slice(-4)}`),
);

/** Every entry under `dir` (the dir included) whose mode is not 0700 for dirs, 0600 for files. */
function looseModes(dir: string): string[] {
  const loose: string[] = [];
  const pending = [dir];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stats = lstatSync(path);
    const mode = stats.mode & 0o777;
    if (stats.isDirectory()) {
      if (mode !== 0o700) loose.push(`${path} ${mode.toString(8)}`);
      for (const entry of readdirSync(path)) pending.push(join(path, entry));
    } else if (stats.isFile() && mode !== 0o600) {
      loose.push(`${path} ${mode.toString(8)}`);
    }
  }
  return loose;
}

function chmodTree(dir: string, dirMode: number, fileMode: number): void {
  const pending = [dir];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (lstatSync(path).isDirectory()) {
      chmodSync(path, dirMode);
      for (const entry of readdirSync(path)) pending.push(join(path, entry));
    } else {
      chmodSync(path, fileMode);
    }
  }
}

async function runOnce(dataDir: string, warnings: string[]): Promise<void> {
  const engine = await Engine.create({ dataDir, onWarning: (m) => warnings.push(m) });
  try {
    // While the engine runs, the dir is closed to others already (whatever PGlite creates inside it).
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
    const worker = engine.worker({ workflows: [secretive], concurrency: 1 });
    await worker.start();
    const handle = await engine.start(secretive, { card: '4111111111111111' });
    expect(await handle.result({ timeoutMs: 30_000 })).toBe('charged 1111');
    await worker.stop();
  } finally {
    await engine.close();
  }
}

describe('the embedded data dir', () => {
  test('is created 0700 with files 0600 under umask 022, and stays so after a run; no warning', async () => {
    const dir = join(root, 'fresh');
    const warnings: string[] = [];
    await runOnce(dir, warnings);
    expect(looseModes(dir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('found open to other users at open: repaired, with a warning naming the dir', async () => {
    const dir = join(root, 'exposed');
    await runOnce(dir, []);
    chmodTree(dir, 0o755, 0o666); // as an older version left it
    const warnings: string[] = [];
    await runOnce(dir, warnings);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^aries: data dir .*exposed was reachable by other users .*; it is now 0700 with its files 0600/);
    expect(looseModes(dir)).toEqual([]);
  });

  test('loose files inside a closed dir (a run killed before its close) are tightened without a warning', async () => {
    const dir = join(root, 'killed');
    await runOnce(dir, []);
    writeFileSync(join(dir, 'base', 'left-by-a-killed-run'), 'x', { mode: 0o666 });
    chmodSync(join(dir, 'base', 'left-by-a-killed-run'), 0o666);
    chmodSync(join(dir, 'base'), 0o755);
    const warnings: string[] = [];
    await runOnce(dir, warnings);
    expect(warnings).toEqual([]);
    expect(looseModes(dir)).toEqual([]);
  });

  test.skipIf(process.getuid?.() !== 0)('owned by another user: refused, naming the owner, and left as it was', async () => {
    const dir = join(root, 'foreign');
    await runOnce(dir, []);
    chownSync(dir, 4321, 4321);
    await expect(Engine.create({ dataDir: dir })).rejects.toThrow(
      /data dir .*foreign belongs to user id 4321, not to this process's user \(0\)/,
    );
    expect(lstatSync(dir).uid).toBe(4321);
  });
});
