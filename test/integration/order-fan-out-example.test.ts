import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serverEnabled } from '../helpers/backends.js';
import { runExample } from '../helpers/run-example.js';
import { createTestDatabase } from '../helpers/server.js';

/** examples/order-fan-out/main.ts runs as a user would run it, on both backends. */

const runMain = (env: Record<string, string>, cwd: string) => runExample('examples/order-fan-out/main.ts', env, cwd);

function expectFanOut(out: { code: number | null; stdout: string; stderr: string }): void {
  expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
  expect(out.stdout).toMatch(/^before: stock chair 8, desk 5, lamp 10; ada's balance 1000$/m);
  // Every line in stock: the lines are SUB_COMMITTED until the order completes, then COMPLETED with it.
  expect(out.stdout).toMatch(/^o-1: COMPLETED; reserved 2 × lamp at north; 1 × desk at south; 4 × chair at east$/m);
  expect(out.stdout).toMatch(/^o-1: while the order was charged its lines were line:chair SUB_COMMITTED, line:desk SUB_COMMITTED, line:lamp SUB_COMMITTED$/m);
  expect(out.stdout).toMatch(/^o-1: now that it completed: line:chair COMPLETED, line:desk COMPLETED, line:lamp COMPLETED$/m);
  expect(out.stdout).toMatch(/^after o-1: stock chair 4, desk 4, lamp 8; ada's balance 700$/m);
  // A PERMANENT child failure: the parent's saga undoes its SUB_COMMITTED lines (their own compensations),
  // then its own completed step; the failed line is cancelled with the compensating parent.
  expect(out.stdout).toMatch(/^o-2: COMPENSATED \(compensated\): child execution \S+ ended FAILED: east has 4 × chair, the order needs 50$/m);
  expect(out.stdout).toMatch(/^o-2: its lines: line:chair FAILED, line:desk COMPENSATED, line:lamp COMPENSATED$/m);
  // The two lines completed in parallel, in either order; the order's own step is undone last.
  expect(out.stdout).toMatch(/^o-2: undone in reverse completion order: (line:desk, line:lamp|line:lamp, line:desk), open$/m);
  expect(out.stdout).toMatch(/^after o-2: stock chair 4, desk 4, lamp 8; ada's balance 700; order o-2 CANCELLED$/m);
  expect(out.stdout).toContain('OK: o-1 placed with each line reserved once; o-2 undone, its completed lines released and nothing charged');
}

describe('examples/order-fan-out/main.ts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aries-fan-out-example-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('on the embedded backend (data dir .aries-fan-out)', async () => {
    const out = await runMain({}, cwd);
    expect(out.stdout).toMatch(/^backend: embedded PGlite \(PGlite at .*\.aries-fan-out\)$/m);
    expectFanOut(out);
  }, 60_000);

  test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL)', async () => {
    const db = await createTestDatabase('example-fan-out');
    try {
      const out = await runMain({ DATABASE_URL: db.url }, cwd);
      expect(out.stdout).toMatch(/^backend: PostgreSQL server \(postgres:\/\/.*\)$/m);
      expectFanOut(out);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
