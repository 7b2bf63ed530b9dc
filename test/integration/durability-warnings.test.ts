import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { durabilityWarnings } from '../../src/db/durability-check.js';
import { createEngine } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';

/** The start-up check on a server: fsync or full_page_writes off is warned about, by name. */
test.skipIf(!serverEnabled())('a server with fsync and full_page_writes on opens without a warning, and reports its settings', async () => {
  const db = await createTestDatabase('durability-warnings');
  const warnings: string[] = [];
  try {
    const engine = await createEngine({ databaseUrl: db.url, onWarning: (m) => warnings.push(m) });
    const [settings] = await engine.db.query<{ fsync: string; full_page_writes: string }>('SELECT * FROM aries.durability_settings()');
    await engine.close();
    expect(settings).toMatchObject({ fsync: 'on', full_page_writes: 'on' }); // this machine's server
    expect(warnings).toEqual([]);
  } finally {
    await db.drop();
  }
});

test('fsync=off and full_page_writes=off are each named in a warning', async () => {
  // The settings as a server reports them (the shared test server cannot be switched to fsync=off).
  const reporting = (fsync: string, fpw: string): Queryable => ({
    query: <Row>() => Promise.resolve([{ fsync, full_page_writes: fpw, synchronous_commit: 'on' }] as Row[]),
  });
  expect(await durabilityWarnings(reporting('on', 'on'))).toEqual([]);
  const both = await durabilityWarnings(reporting('off', 'off'));
  expect(both).toHaveLength(2);
  expect(both[0]).toMatch(/fsync=off: a crash of its machine can lose committed steps/);
  expect(both[1]).toMatch(/full_page_writes=off/);
});
