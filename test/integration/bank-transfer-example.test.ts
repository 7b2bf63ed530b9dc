import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serverEnabled } from '../helpers/backends.js';
import { runExample } from '../helpers/run-example.js';
import { createTestDatabase } from '../helpers/server.js';

/** examples/bank-transfer/main.ts runs as a user would run it (npx tsx …), on both backends. */

const runBank = (env: Record<string, string>, cwd: string) =>
  runExample('examples/bank-transfer/main.ts', { BANK_TRANSFERS: '120', ...env }, cwd);

function expectBalancedBank(out: { code: number | null; stdout: string; stderr: string }): void {
  expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
  expect(out.stdout).toMatch(/^before: alice 1000, bob 1000, carol 1000, dave 1000; total 4000$/m);
  expect(out.stdout).toMatch(/^after: {2}.*; total 4000$/m);
  const applied = Number(/^ {2}applied +(\d+)$/m.exec(out.stdout)?.[1]);
  const rejected = Number(/^ {2}rejected (\d+) /m.exec(out.stdout)?.[1]);
  expect(applied + rejected).toBe(120);
  expect(applied).toBeGreaterThan(0);
  expect(out.stdout).toMatch(/^ {2}failed otherwise 0$/m);
  expect(out.stdout).toMatch(new RegExp(`^ledger: ${applied} rows for ${applied} applied transfers; balances match the ledger$`, 'm'));
  if (rejected > 0) expect(out.stdout).toContain('violates check constraint "bank_accounts_balance_check"');
  expect(out.stdout).not.toMatch(/^FAIL /m);
  expect(out.stdout).toContain('OK: no money created or destroyed, no account overdrawn');
}

describe('examples/bank-transfer/main.ts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aries-example-bank-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('on the embedded backend (data dir .aries-bank, recreated): total unchanged, nothing negative, overdrafts rejected', async () => {
    expectBalancedBank(await runBank({}, cwd));
    expect(existsSync(join(cwd, '.aries-bank'))).toBe(true);
    expectBalancedBank(await runBank({}, cwd)); // a second run starts over
  }, 90_000);

  test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL), twice on the same database', async () => {
    const db = await createTestDatabase('example_bank');
    try {
      const first = await runBank({ DATABASE_URL: db.url }, cwd);
      expectBalancedBank(first);
      expect(first.stdout).toMatch(/^ {2}attempts beyond the first: \d+ \(serialization failures retried\)$/m);
      expectBalancedBank(await runBank({ DATABASE_URL: db.url }, cwd)); // its bank tables are reset
    } finally {
      await db.drop();
    }
  }, 90_000);
});
