/**
 * Durability classes: how durable the commit of a workflow's checkpoints must be before the worker goes
 * on. On a server each class is PostgreSQL's synchronous_commit, applied with SET LOCAL to the
 * transactions that record the workflow's steps; on the embedded backend (PGlite never fsyncs by itself)
 * every class but 'off' makes the worker fsync the WAL from the host after the commit.
 */
import { InvalidDefinitionError } from '../errors.js';

export const DURABILITY_CLASSES = ['off', 'local', 'remote_write', 'on', 'remote_apply'] as const;
export type Durability = (typeof DURABILITY_CLASSES)[number];

export const DEFAULT_DURABILITY: Durability = 'on';

/** The stronger of two classes (a batch of several workflows' writes commits at the strongest). */
export function strongestDurability(a: Durability, b: Durability): Durability {
  return DURABILITY_CLASSES.indexOf(a) >= DURABILITY_CLASSES.indexOf(b) ? a : b;
}

export function parseDurability(value: unknown, where: string): Durability {
  if (typeof value === 'string' && (DURABILITY_CLASSES as readonly string[]).includes(value)) return value as Durability;
  throw new InvalidDefinitionError(`${where}: durability ${JSON.stringify(value)} is invalid: use ${DURABILITY_CLASSES.join(', ')}`);
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];
