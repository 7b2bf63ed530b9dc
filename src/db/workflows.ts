/**
 * Workflow definitions as the database knows them (name and version).
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { Queryable } from './database.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** Records a workflow definition, and the queue it names (null: none), which must be registered first. */
export async function registerWorkflow(db: Queryable, name: string, version: string, queue: string | null = null): Promise<void> {
  await translated(
    db.query('SELECT aries.register_workflow(p_name => $1, p_version => $2, p_queue => $3)', [name, version, queue]),
  );
}

export interface RegisteredWorkflow {
  name: string;
  version: string;
  registeredAt: Date;
  lastSeenAt: Date;
}

export async function listWorkflows(db: Queryable): Promise<RegisteredWorkflow[]> {
  const rows = await db.query<{ name: string; version: string; registered_at: Date | string; last_seen_at: Date | string }>(
    'SELECT name, version, registered_at, last_seen_at FROM aries.workflows ORDER BY name, registered_at DESC',
  );
  return rows.map((r) => ({ name: r.name, version: r.version, registeredAt: toDate(r.registered_at), lastSeenAt: toDate(r.last_seen_at) }));
}
