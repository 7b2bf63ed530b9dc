import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serverEnabled } from '../helpers/backends.js';
import { runExample } from '../helpers/run-example.js';
import { createTestDatabase } from '../helpers/server.js';

/** examples/orders/main.ts runs as a user would run it, on both backends. */

const runMain = (env: Record<string, string>, cwd: string) => runExample('examples/orders/main.ts', env, cwd);

function expectOrdersShipped(out: { code: number | null; stdout: string; stderr: string }): void {
  expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
  // The same workflow at both classes; the transactional step runs at READ COMMITTED with its class as synchronous_commit.
  expect(out.stdout).toMatch(/^durability on: {2}10 orders → 10 COMPLETED; the place transaction ran at isolation read committed, synchronous_commit on$/m);
  expect(out.stdout).toMatch(/^durability off: 10 orders → 10 COMPLETED; the place transaction ran at isolation read committed, synchronous_commit off$/m);
  // More than the stock: the transaction fails PERMANENTLY and rolls back whole (no order row, no stock taken).
  expect(out.stdout).toMatch(/^order big \(25 × lamp, durability on\): FAILED — out of stock: lamp has 10 left, 25 asked$/m);
  expect(out.stdout).toMatch(/^ {2}failure: PERMANENT \(step\) at step "place", strategy rollback$/m);
  expect(out.stdout).toMatch(/^ {2}its place transaction rolled back whole: 0 order rows, lamp stock 10 → 10$/m);
  // A step's completion is journaled before the next step starts.
  const journal = out.stdout.slice(out.stdout.indexOf('journal of order on-1:'));
  const kinds = [...journal.matchAll(/^ +\d+ (\S+(?: \S+)?)$/gm)].map((m) => m[1]);
  expect(kinds).toEqual([
    'execution_started',
    'step_started place',
    'step_completed place',
    'step_started notify',
    'step_completed notify',
    'step_started ship',
    'step_completed ship',
    'execution_completed',
  ]);
  expect(out.stdout).toMatch(/^shop: 20 orders, 20 SHIPPED; lamp stock 30 → 10 \(20 taken\)$/m);
  expect(out.stdout).toMatch(/^notifications: 20 customers notified, 20 of them exactly once$/m);
  expect(out.stdout).toMatch(/^consistency: every order row has its completed place step and its stock change/m);
  expect(out.stdout).toContain('OK: 20 orders placed, notified and shipped exactly once');
}

describe('examples/orders/main.ts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aries-orders-example-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('on the embedded backend (data dir .aries-orders)', async () => {
    const out = await runMain({}, cwd);
    expect(out.stdout).toMatch(/^backend: embedded PGlite \(PGlite at .*\.aries-orders\)$/m);
    expectOrdersShipped(out);
  }, 60_000);

  test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL)', async () => {
    const db = await createTestDatabase('example-orders');
    try {
      const out = await runMain({ DATABASE_URL: db.url }, cwd);
      expect(out.stdout).toMatch(/^backend: PostgreSQL server \(postgres:\/\/.*\)$/m);
      expectOrdersShipped(out);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
