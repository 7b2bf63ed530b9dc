import { describe, expect, test } from 'vitest';
import { transactionControlIn } from '../../src/core/transaction-control.js';

describe('transactionControlIn', () => {
  test('finds the statements that end or begin a transaction, whatever their case and spacing', () => {
    expect(transactionControlIn('COMMIT')).toBe('COMMIT');
    expect(transactionControlIn('  commit work;')).toBe('COMMIT');
    expect(transactionControlIn('end')).toBe('END');
    expect(transactionControlIn('begin isolation level serializable')).toBe('BEGIN');
    expect(transactionControlIn('START TRANSACTION READ ONLY')).toBe('START TRANSACTION');
    expect(transactionControlIn('rollback')).toBe('ROLLBACK');
    expect(transactionControlIn('ROLLBACK AND CHAIN')).toBe('ROLLBACK');
    expect(transactionControlIn('abort')).toBe('ABORT');
    expect(transactionControlIn("PREPARE TRANSACTION 'x'")).toBe('PREPARE TRANSACTION');
    expect(transactionControlIn("COMMIT PREPARED 'x'")).toBe('COMMIT PREPARED');
  });

  test('finds one behind comments or after other statements in the same text', () => {
    expect(transactionControlIn('-- done\nCOMMIT')).toBe('COMMIT');
    expect(transactionControlIn('/* outer /* nested */ still */ commit')).toBe('COMMIT');
    expect(transactionControlIn("INSERT INTO t VALUES ('a'); COMMIT; BEGIN")).toBe('COMMIT');
  });

  test('lets savepoints and ordinary statements through', () => {
    expect(transactionControlIn('SAVEPOINT s1')).toBeUndefined();
    expect(transactionControlIn('RELEASE SAVEPOINT s1')).toBeUndefined();
    expect(transactionControlIn('ROLLBACK TO SAVEPOINT s1')).toBeUndefined();
    expect(transactionControlIn('rollback to s1')).toBeUndefined();
    expect(transactionControlIn('ROLLBACK WORK TO SAVEPOINT s1')).toBeUndefined();
    expect(transactionControlIn('PREPARE q AS SELECT 1')).toBeUndefined();
    expect(transactionControlIn('SELECT 1')).toBeUndefined();
    expect(transactionControlIn("UPDATE t SET note = 'commit' WHERE id = $1")).toBeUndefined();
    expect(transactionControlIn('SELECT commit_ts FROM t')).toBeUndefined();
    expect(transactionControlIn('SELECT "end" FROM t')).toBeUndefined();
  });

  test('never reads inside quoted strings, identifiers or dollar-quoted bodies', () => {
    expect(transactionControlIn("SELECT 'a; COMMIT'")).toBeUndefined();
    expect(transactionControlIn("SELECT 'it''s; COMMIT'")).toBeUndefined();
    expect(transactionControlIn("SELECT E'\\'; COMMIT'")).toBeUndefined();
    expect(transactionControlIn('SELECT "x; COMMIT"')).toBeUndefined();
    expect(transactionControlIn('DO $$ BEGIN PERFORM 1; END $$')).toBeUndefined();
    expect(transactionControlIn('CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql')).toBeUndefined();
    expect(transactionControlIn('SELECT 1 -- ; COMMIT')).toBeUndefined();
    // A backslash ends no string outside E'…' (standard_conforming_strings): the COMMIT after it is seen.
    expect(transactionControlIn("SELECT 1 WHERE x like'%\\'; COMMIT")).toBe('COMMIT');
  });
});
