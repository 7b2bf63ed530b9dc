import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serverEnabled } from '../helpers/backends.js';
import { runExample } from '../helpers/run-example.js';
import { createTestDatabase } from '../helpers/server.js';

/** Every example under examples/ runs as a user would run it, on both backends. */


function expectCompensatedSaga(out: { code: number | null; stdout: string; stderr: string }): void {
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toMatch(/^execution \S+: COMPENSATED$/m);
  expect(out.stdout).toMatch(/^ {2}step reserve\s+COMPLETED\s+compensation COMPLETED$/m);
  expect(out.stdout).toMatch(/^ {2}step charge\s+COMPLETED\s+compensation COMPLETED$/m);
  expect(out.stdout).toMatch(/^failure: PARTIAL \(step\) at step "ship", strategy compensate, recovered true$/m);
  // Compensations in reverse completion order: the refund before the stock is released.
  expect(out.stdout.indexOf('compensation_completed charge')).toBeLessThan(out.stdout.indexOf('compensation_completed reserve'));
  expect(out.stdout).toMatch(/^after: {2}lamp stock 10, ada's balance 500$/m);
  expect(out.stdout).toContain('OK: the order was compensated');
}

describe('examples/order-saga.ts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aries-example-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('on the embedded backend: ship fails permanently, charge and reserve are compensated in reverse order', async () => {
    expectCompensatedSaga(await runExample('examples/order-saga.ts', {}, cwd));
  }, 60_000);

  test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL)', async () => {
    const db = await createTestDatabase('example-saga');
    try {
      expectCompensatedSaga(await runExample('examples/order-saga.ts', { DATABASE_URL: db.url }, cwd));
    } finally {
      await db.drop();
    }
  }, 60_000);
});

/** The "your own tables" examples: one order placed, one compensated in its own transaction, on both backends. */
for (const [file, rows] of [
  ['examples/kysely-orders.ts', /^orders: o-1 placed, o-2 cancelled$/m],
  ['examples/drizzle-orders.ts', /^orders: o-1$/m],
] as const) {
  describe(file, () => {
    const cwd = mkdtempSync(join(tmpdir(), 'aries-example-tables-'));
    afterAll(() => rmSync(cwd, { recursive: true, force: true }));

    function expectPlacedAndCompensated(out: { code: number | null; stdout: string; stderr: string }): void {
      expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
      expect(out.stdout).toMatch(/^o-1: COMPLETED \(shipped\)$/m);
      expect(out.stdout).toMatch(/^o-2: COMPENSATED \(.*no courier serves Atlantis\)$/m);
      expect(out.stdout).toMatch(rows);
      expect(out.stdout).toMatch(/^lamp stock: 8$/m);
      expect(out.stdout).toContain('OK: o-1 placed, o-2 compensated in its own transaction');
    }

    test('on the embedded backend', async () => {
      expectPlacedAndCompensated(await runExample(file, {}, cwd));
    }, 60_000);

    test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL)', async () => {
      const db = await createTestDatabase('example-tables');
      try {
        expectPlacedAndCompensated(await runExample(file, { DATABASE_URL: db.url }, cwd));
      } finally {
        await db.drop();
      }
    }, 60_000);
  });
}
