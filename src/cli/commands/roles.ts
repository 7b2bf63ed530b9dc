/**
 * `aries roles`: prints the SQL of the least-privilege roles (src/db/roles-sql.ts) for a superuser to run:
 * an owner that migrates, a runtime role for workers and the API (no DELETE, no DDL), a read-only role.
 */
import { DEFAULT_ROLE_NAMES, roleNameProblem, rolesSql } from '../../db/roles-sql.js';
import { UsageError } from '../cli-error.js';
import { defineCommand } from '../run-command.js';

const usage = `Usage: aries roles [options]

Prints the SQL that creates three roles and grants them what they need, for a superuser to run in the
Aries database (aries roles | psql "$SUPERUSER_URL"). It is idempotent: run it before the first
aries migrate and again after each one.

  owner      owns schema aries and runs aries migrate; the only role that changes the schema
  runtime    what aries worker and aries serve need: read, insert and update the tables (the journal
             and the purge audit only read and insert / read), no DELETE, no DDL; purge and retention
             run as the owner through SECURITY DEFINER functions it may execute
  read-only  SELECT on the tables, for dashboards and reports; every write is refused

The roles can log in and have no password: set one with ALTER ROLE name PASSWORD '…'.

Options:
  --owner NAME      the owner role (default ${DEFAULT_ROLE_NAMES.owner})
  --runtime NAME    the runtime role (default ${DEFAULT_ROLE_NAMES.runtime})
  --readonly NAME   the read-only role (default ${DEFAULT_ROLE_NAMES.readonly})
  -h, --help        show this help
`;

export default defineCommand({
  usage,
  options: { owner: { type: 'string' }, runtime: { type: 'string' }, readonly: { type: 'string' } },
  async run({ values }) {
    const names = {
      owner: values.owner ?? DEFAULT_ROLE_NAMES.owner,
      runtime: values.runtime ?? DEFAULT_ROLE_NAMES.runtime,
      readonly: values.readonly ?? DEFAULT_ROLE_NAMES.readonly,
    };
    for (const [flag, name] of Object.entries(names)) {
      const problem = roleNameProblem(name);
      if (problem !== undefined) throw new UsageError(`--${flag}: ${problem}`, usage);
    }
    if (new Set(Object.values(names)).size !== 3) throw new UsageError('--owner, --runtime and --readonly need three different names', usage);
    process.stdout.write(rolesSql(names));
  },
});
