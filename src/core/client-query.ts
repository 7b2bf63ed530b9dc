/**
 * Statements and results in node-postgres's shape (its QueryConfig and QueryResult), which both backends
 * produce for a transaction's `run` and the SDK hands to users as `tx.client`. Types only, written out
 * here so that users of Aries need no node-postgres types to compile.
 */

/** A statement as node-postgres takes it: text, values, and how rows come back. */
export interface ClientQueryConfig {
  text: string;
  values?: readonly unknown[];
  /** 'array': each row is an array of its column values, in column order (Drizzle asks for this). */
  rowMode?: 'array';
  /** How a column's text is turned into a value, by type OID (node-postgres's `types` option). */
  types?: { getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown };
  /** node-postgres prepares a named statement once per connection; accepted and ignored on the embedded backend. */
  name?: string;
}

/** A column of a result, as node-postgres describes it. */
export interface ClientField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: string;
}

/** A statement's result, as node-postgres's QueryResult. */
export interface ClientQueryResult<Row = Record<string, unknown>> {
  /** The command tag's verb: 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'CREATE', … */
  command: string;
  /** Rows returned (SELECT) or affected (INSERT, UPDATE, DELETE, MERGE); null for other commands. */
  rowCount: number | null;
  rows: Row[];
  fields: ClientField[];
}
