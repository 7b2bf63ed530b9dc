/**
 * The least-privilege roles, as SQL a superuser (or a role with CREATEROLE that owns the database) runs:
 * `aries roles` prints it. Three roles:
 *
 *   owner     owns schema aries and every object in it; runs `aries migrate`. Only it changes the schema.
 *   runtime   what a worker and the HTTP API need: SELECT, INSERT, UPDATE on the tables, but the journal
 *             only SELECT and INSERT and the purge audit only SELECT; the sequences; EXECUTE on the
 *             functions. No DELETE and no DDL: the few functions that delete rows (purge_execution,
 *             purge_finished, delete_schedule, the retention policies, register_worker's pruning, and
 *             create_execution's and start_executions' taking back of a row) are SECURITY DEFINER, run as the owner, and EXECUTE on them is granted here, not to PUBLIC.
 *   readonly  SELECT on the tables, for dashboards and reports; every write is refused (42501).
 *
 * Idempotent: run it before the first `aries migrate` (it creates the schema for the owner and the default
 * privileges of the objects the owner creates later) and again after a migrate, which narrows the journal
 * and the audit table (default privileges cannot tell tables apart).
 */

export interface RoleNames {
  owner: string;
  runtime: string;
  readonly: string;
}

export const DEFAULT_ROLE_NAMES: RoleNames = { owner: 'aries_owner', runtime: 'aries_runtime', readonly: 'aries_readonly' };

/** A role name as an SQL identifier: lower-case letters, digits and _, so it needs no quoting anywhere. */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function roleNameProblem(name: string): string | undefined {
  if (ROLE_NAME.test(name)) return undefined;
  return `a role name is 1 to 63 lower-case letters, digits and _ (not starting with a digit), got ${JSON.stringify(name)}`;
}

/** The SQL that creates the roles (LOGIN, no password: set one with ALTER ROLE … PASSWORD) and grants them. */
export function rolesSql(names: RoleNames = DEFAULT_ROLE_NAMES): string {
  for (const name of [names.owner, names.runtime, names.readonly]) {
    const problem = roleNameProblem(name);
    if (problem !== undefined) throw new Error(problem);
  }
  if (new Set([names.owner, names.runtime, names.readonly]).size !== 3) throw new Error('the owner, runtime and read-only roles need three different names');
  const { owner, runtime, readonly } = names;
  const create = (role: string) =>
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN; END IF; END $$;`;
  return `-- Aries least-privilege roles (owner ${owner}, runtime ${runtime}, read-only ${readonly}).
-- Run as a superuser in the Aries database, before the first "aries migrate" and again after each one.
BEGIN;
${create(owner)}
${create(runtime)}
${create(readonly)}

-- The owner creates and changes the schema; the others only connect.
DO $$ BEGIN
  EXECUTE pg_catalog.format('GRANT CONNECT, CREATE ON DATABASE %I TO ${owner}', pg_catalog.current_database());
  EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO ${runtime}, ${readonly}', pg_catalog.current_database());
END $$;
CREATE SCHEMA IF NOT EXISTS aries AUTHORIZATION ${owner};
GRANT USAGE ON SCHEMA aries TO ${runtime}, ${readonly};
REVOKE CREATE ON SCHEMA aries FROM PUBLIC;

-- What the owner creates from now on (the migrations).
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA aries GRANT SELECT, INSERT, UPDATE ON TABLES TO ${runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA aries GRANT SELECT ON TABLES TO ${readonly};
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA aries GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA aries GRANT EXECUTE ON FUNCTIONS TO ${runtime};

-- What the migrations created already: the same, then the journal append-only and the purge audit read-only.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA aries TO ${runtime};
GRANT SELECT ON ALL TABLES IN SCHEMA aries TO ${readonly};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA aries TO ${runtime};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA aries TO ${runtime};
REVOKE DELETE, TRUNCATE ON ALL TABLES IN SCHEMA aries FROM ${runtime}, ${readonly};
DO $$ BEGIN
  IF pg_catalog.to_regclass('aries.journal') IS NOT NULL THEN
    REVOKE UPDATE ON aries.journal FROM ${runtime};
  END IF;
  IF pg_catalog.to_regclass('aries.purges') IS NOT NULL THEN
    REVOKE INSERT, UPDATE ON aries.purges FROM ${runtime};
  END IF;
  IF pg_catalog.to_regclass('aries.schema_migrations') IS NOT NULL THEN
    REVOKE INSERT, UPDATE ON aries.schema_migrations FROM ${runtime};
  END IF;
END $$;
COMMIT;
`;
}
