/**
 * `aries migrate`: applies pending migrations and prints each one and the final schema version. It
 * opens the database directly rather than through an engine, because opening an engine migrates
 * silently. On an embedded data dir held by a worker, the worker's process applies them (and progress
 * is reported once they are applied).
 */
import { migrate, type MigrationResult } from '../../db/migrate.js';
import { openDatabase } from '../../db/open-database.js';
import { RemoteDatabase } from '../../db/remote-database.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries migrate [options]

Applies the pending schema migrations (forward-only, in one transaction) and prints the schema version.
Each migration is printed as it starts ("applying 0002_step_kinds (2/2)").

Options:
  --json       print {applied, schemaVersion} as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

const migrationName = (m: { version: number; name: string }) => `${String(m.version).padStart(4, '0')}_${m.name}`;

export default defineCommand({
  usage,
  options: { json: { type: 'boolean' } },
  async run({ values, connection, defer }) {
    const say = (line: string) => {
      if (!values.json) process.stdout.write(`${line}\n`);
    };
    const opened = await openDatabase({ ...connection(), ifDataDirHeld: 'connect' });
    defer(() => opened.close());
    const { db } = opened;
    say(`migrating ${db.kind === 'postgres' ? `PostgreSQL at ${db.description}` : db.description}`);
    let result: MigrationResult;
    if (db instanceof RemoteDatabase) {
      result = await db.migrate();
      for (const m of result.applied) say(`applied ${migrationName(m)}`);
    } else {
      result = await migrate(db, (m, i, total) => say(`applying ${migrationName(m)} (${i + 1}/${total})`));
    }
    if (values.json) {
      const applied = result.applied.map(migrationName);
      process.stdout.write(`${JSON.stringify({ applied, schemaVersion: result.schemaVersion })}\n`);
    } else if (result.applied.length === 0) {
      say(`nothing to apply; schema version ${result.schemaVersion}`);
    } else {
      say(`applied ${result.applied.length} migration(s); schema version ${result.schemaVersion}`);
    }
  },
});
