/**
 * sql/schema.snapshot.sql is the migrated schema as pg_dump prints it, checked in so that reviewers read
 * schema changes as diffs. This test regenerates it from the migrations on the server and fails when the
 * checked-in copy differs; ARIES_UPDATE_SNAPSHOT=1 rewrites it instead.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createEngine } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';

const SNAPSHOT = new URL('../../sql/schema.snapshot.sql', import.meta.url);

function normalise(dump: string): string {
  return dump
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by)/.test(line) && !/^\\(un)?restrict /.test(line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

beforeAll(async () => {
  if (!serverEnabled()) return;
  db = await createTestDatabase('snapshot');
  const engine = await createEngine({ databaseUrl: db.url });
  await engine.close();
});
afterAll(async () => db?.drop());

test.skipIf(!serverEnabled())('the checked-in schema snapshot matches the migrations', () => {
  const dump = normalise(
    execFileSync('pg_dump', ['--schema-only', '--schema=aries', '--no-owner', '--no-privileges', db!.url], { encoding: 'utf8' }),
  );
  if (process.env.ARIES_UPDATE_SNAPSHOT === '1') writeFileSync(SNAPSHOT, `${dump}\n`);
  const checkedIn = readFileSync(SNAPSHOT, 'utf8').trim();
  expect(dump, 'the schema changed: run ARIES_UPDATE_SNAPSHOT=1 npx vitest run test/sql/schema-snapshot.test.ts').toBe(checkedIn);
});
