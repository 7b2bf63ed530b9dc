import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { loadMigrations } from '../../src/db/migrate.js';

const dirs: string[] = [];
function migrationsDir(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'aries-migrations-'));
  dirs.push(dir);
  for (const f of files) writeFileSync(join(dir, f), `-- ${f}\nSELECT 1;\n`);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('loadMigrations accepts numbers that skip one, in increasing order', () => {
  const loaded = loadMigrations(migrationsDir(['0001_a.sql', '0002_b.sql', '0006_f.sql']));
  expect(loaded.map((m) => m.version)).toEqual([1, 2, 6]);
});

test('loadMigrations refuses two migrations under one number', () => {
  expect(() => loadMigrations(migrationsDir(['0001_a.sql', '0002_b.sql', '0002_c.sql']))).toThrow(/out of sequence/);
});

test('the shipped migrations load, numbered upward from 1', () => {
  const loaded = loadMigrations();
  expect(loaded[0]!.version).toBe(1);
  expect(loaded.map((m) => m.version)).toEqual([...loaded.map((m) => m.version)].sort((a, b) => a - b));
});
