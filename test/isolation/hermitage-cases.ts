/**
 * The Hermitage cases (github.com/ept/hermitage, postgres.md), statement for statement, each with a judge
 * that decides from what the transactions saw whether the anomaly was observed. A judge looks only at
 * observations (rows returned, how each transaction ended, the final table), never at the isolation level,
 * so a level that was not applied shows up as an anomaly where PostgreSQL prevents it.
 */
import type { IsolationLevel } from '../../src/index.js';
import { showRows, type Observations, type Op } from './hermitage-runner.js';

export type Family = 'G0' | 'G1a' | 'G1b' | 'G1c' | 'OTV' | 'PMP' | 'P4' | 'G-single' | 'G2-item' | 'G2';

export interface Verdict {
  anomaly: boolean;
  /** What was seen, in Hermitage's terms. */
  evidence: string;
}

export interface HermitageCase {
  id: string;
  family: Family;
  title: string;
  ops: Op[];
  judge: (o: Observations) => Verdict;
  /**
   * At SERIALIZABLE, Hermitage's transactions all commit (but for a scripted abort): nothing in the script's
   * statements makes SSI fail one. A 40001 at COMMIT there comes from the engine's own statements in the
   * step's transaction (see hermitage.test.ts); the test reports it and runs the cell again.
   */
  serializableCommits?: true;
}

export const LEVELS: readonly IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];

/** PostgreSQL's documented behaviour (DESIGN.md): true where the anomaly is allowed. */
export const ALLOWED: Record<Family, Record<IsolationLevel, boolean>> = {
  G0: { 'read committed': false, 'repeatable read': false, serializable: false },
  G1a: { 'read committed': false, 'repeatable read': false, serializable: false },
  G1b: { 'read committed': false, 'repeatable read': false, serializable: false },
  G1c: { 'read committed': false, 'repeatable read': false, serializable: false },
  OTV: { 'read committed': false, 'repeatable read': false, serializable: false },
  PMP: { 'read committed': true, 'repeatable read': false, serializable: false },
  P4: { 'read committed': true, 'repeatable read': false, serializable: false },
  'G-single': { 'read committed': true, 'repeatable read': false, serializable: false },
  'G2-item': { 'read committed': true, 'repeatable read': true, serializable: false },
  G2: { 'read committed': true, 'repeatable read': true, serializable: false },
};

/** One line per anomaly for the document. */
export const EXPLANATIONS: Record<Family, string> = {
  G0: 'Dirty write (write cycle): two transactions overwrite each other\'s uncommitted writes, so the final state mixes them (x from one, y from the other).',
  G1a: 'Aborted read: a transaction reads a value written by a transaction that later aborts.',
  G1b: 'Intermediate read: a transaction reads a value that its writer later overwrote before committing (a state that never committed).',
  G1c: 'Circular information flow: each of two transactions reads the other\'s (uncommitted) write, so each appears to precede the other.',
  OTV: 'Observed transaction vanishes: a reader sees some of a transaction\'s writes, then later reads miss them (they seem undone) before a newer committed write replaces them.',
  PMP: 'Predicate-many-preceders: a predicate read (or a predicate write) sees a different set of rows than an earlier predicate in the same transaction, because another transaction committed in between (phantom).',
  P4: 'Lost update: two transactions read the same value, both write a value computed from it, both commit: one write silently overwrites the other.',
  'G-single': 'Read skew (single anti-dependency cycle): a transaction sees part of another transaction\'s effects and misses the rest, e.g. x before and y after a transfer between them.',
  'G2-item': 'Write skew: two transactions each read both items and write a different one; each misses the other\'s write, so no serial order explains what they read.',
  G2: 'Anti-dependency cycle over predicates: each transaction\'s predicate read misses the row the other inserts. Includes the read-only anomaly (Fekete et al.): a read-only transaction sees a state no serial order produces.',
};

const rows = (o: Observations, label: string) => showRows(o.read(label));

export const CASES: HermitageCase[] = [
  {
    id: 'G0',
    family: 'G0',
    title: 'G0 write cycles',
    ops: [
      { t: 1, sql: 'update test set value = 11 where id = 1' },
      { t: 2, sql: 'update test set value = 12 where id = 1', mayBlock: true },
      { t: 1, sql: 'update test set value = 21 where id = 2' },
      { t: 1, end: 'commit' },
      { t: 0, sql: 'select id, value from test order by id', as: 'after-T1' },
      { t: 2, sql: 'update test set value = 22 where id = 2' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => {
      const x = o.final.find((r) => r.id === 1)?.value;
      const y = o.final.find((r) => r.id === 2)?.value;
      // Each transaction writes both rows: a final state with x from one and y from the other is a write cycle.
      const mixed = (x === 11 && y === 22) || (x === 12 && y === 21);
      const expectFinal = o.committed(2) ? '1 => 12, 2 => 22' : '1 => 11, 2 => 21';
      const wrong = !mixed && showRows(o.final) !== expectFinal;
      if (wrong) throw new Error(`G0: unexpected final state ${showRows(o.final)}`);
      return { anomaly: mixed, evidence: `after T1's commit ${rows(o, 'after-T1')}; final ${showRows(o.final)}` };
    },
  },
  {
    id: 'G1a',
    serializableCommits: true,
    family: 'G1a',
    title: 'G1a aborted reads',
    ops: [
      { t: 1, sql: 'update test set value = 101 where id = 1' },
      { t: 2, sql: 'select id, value from test order by id', as: 'r1' },
      { t: 1, end: 'abort' },
      { t: 2, sql: 'select id, value from test order by id', as: 'r2' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.value('r1', 1) === 101 || o.value('r2', 1) === 101,
      evidence: `T2 read ${rows(o, 'r1')}, then after T1 aborted ${rows(o, 'r2')}`,
    }),
  },
  {
    id: 'G1b',
    serializableCommits: true,
    family: 'G1b',
    title: 'G1b intermediate reads',
    ops: [
      { t: 1, sql: 'update test set value = 101 where id = 1' },
      { t: 2, sql: 'select id, value from test order by id', as: 'r1' },
      { t: 1, sql: 'update test set value = 11 where id = 1' },
      { t: 1, end: 'commit' },
      { t: 2, sql: 'select id, value from test order by id', as: 'r2' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.value('r1', 1) === 101 || o.value('r2', 1) === 101,
      evidence: `T2 read ${rows(o, 'r1')}, then after T1 committed ${rows(o, 'r2')}`,
    }),
  },
  {
    id: 'G1c',
    family: 'G1c',
    title: 'G1c circular information flow',
    ops: [
      { t: 1, sql: 'update test set value = 11 where id = 1' },
      { t: 2, sql: 'update test set value = 22 where id = 2' },
      { t: 1, sql: 'select id, value from test where id = 2', as: 'r1' },
      { t: 2, sql: 'select id, value from test where id = 1', as: 'r2' },
      { t: 1, end: 'commit' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.value('r1', 2) === 22 || o.value('r2', 1) === 11,
      evidence: `T1 read ${rows(o, 'r1')}, T2 read ${rows(o, 'r2')}`,
    }),
  },
  {
    id: 'OTV',
    family: 'OTV',
    title: 'OTV observed transaction vanishes',
    ops: [
      { t: 1, sql: 'update test set value = 11 where id = 1' },
      { t: 1, sql: 'update test set value = 19 where id = 2' },
      { t: 2, sql: 'update test set value = 12 where id = 1', mayBlock: true },
      { t: 1, end: 'commit' },
      { t: 3, sql: 'select id, value from test where id = 1', as: 'o1' },
      { t: 2, sql: 'update test set value = 18 where id = 2' },
      { t: 3, sql: 'select id, value from test where id = 2', as: 'o2' },
      { t: 2, end: 'commit' },
      { t: 3, sql: 'select id, value from test where id = 2', as: 'o3' },
      { t: 3, sql: 'select id, value from test where id = 1', as: 'o4' },
      { t: 3, end: 'commit' },
    ],
    judge: (o) => {
      // Versions in commit order: initial (10, 20) < T1 (11, 19) < T2 (12, 18). T3's reads must never go
      // back to an older version once it saw a newer one (T1 vanishing), and never show T2's writes before
      // T2 committed (o1, o2 are read before T2's commit) or at all if T2 failed.
      const version = (id: number, v: number | undefined) => (v === undefined ? -1 : (id === 1 ? [10, 11, 12] : [20, 19, 18]).indexOf(v));
      const reads: [string, number][] = [['o1', 1], ['o2', 2], ['o3', 2], ['o4', 1]];
      const seen = reads.map(([label, id]) => version(id, o.value(label, id)));
      let anomaly = seen.some((v) => v < 0);
      for (let i = 1; i < seen.length; i++) if (seen[i]! < Math.max(...seen.slice(0, i))) anomaly = true;
      if (seen[0] === 2 || seen[1] === 2) anomaly = true; // read before T2 committed
      if (!o.committed(2) && seen.includes(2)) anomaly = true;
      return { anomaly, evidence: `T3 read ${reads.map(([label]) => rows(o, label)).join('; ')}` };
    },
  },
  {
    id: 'PMP',
    serializableCommits: true,
    family: 'PMP',
    title: 'PMP predicate-many-preceders',
    ops: [
      { t: 1, sql: 'select id, value from test where value = 30', as: 'p1' },
      { t: 2, sql: 'insert into test (id, value) values (3, 30)' },
      { t: 2, end: 'commit' },
      { t: 1, sql: 'select id, value from test where value % 3 = 0', as: 'p2' },
      { t: 1, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.read('p1').length === 0 && o.read('p2').some((r) => r.id === 3),
      evidence: `T1's predicate reads: ${rows(o, 'p1')}, then ${rows(o, 'p2')}`,
    }),
  },
  {
    id: 'PMP-write',
    family: 'PMP',
    title: 'PMP for write predicates',
    ops: [
      { t: 1, sql: 'update test set value = value + 10' },
      { t: 2, sql: 'delete from test where value = 20 returning id, value', mayBlock: true, as: 'deleted' },
      { t: 1, end: 'commit' },
      { t: 2, sql: 'select id, value from test where value = 20', as: 'left' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => {
      if (!o.ran('left')) return { anomaly: false, evidence: 'T2\'s delete failed' };
      return {
        anomaly: o.committed(2) && o.read('left').length > 0,
        evidence: `T2 deleted ${rows(o, 'deleted')}, then read ${rows(o, 'left')} for value = 20`,
      };
    },
  },
  {
    id: 'P4',
    family: 'P4',
    title: 'P4 lost update',
    ops: [
      { t: 1, sql: 'select id, value from test where id = 1', as: 'r1' },
      { t: 2, sql: 'select id, value from test where id = 1', as: 'r2' },
      // Hermitage writes 11: the value read plus one, computed by the application.
      { t: 1, sql: 'update test set value = $1 where id = 1', params: (o) => [o.value('r1', 1)! + 1] },
      { t: 2, sql: 'update test set value = $1 where id = 1', params: (o) => [o.value('r2', 1)! + 1], mayBlock: true },
      { t: 1, end: 'commit' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => {
      const x = o.final.find((r) => r.id === 1)?.value;
      const increments = Number(o.committed(1)) + Number(o.committed(2));
      return {
        anomaly: x !== 10 + increments,
        evidence: `${increments} committed increment(s) of 1 => 10; final 1 => ${x}`,
      };
    },
  },
  {
    id: 'G-single',
    serializableCommits: true,
    family: 'G-single',
    title: 'G-single read skew',
    ops: [
      { t: 1, sql: 'select id, value from test where id = 1', as: 'x' },
      { t: 2, sql: 'select id, value from test where id = 1' },
      { t: 2, sql: 'select id, value from test where id = 2' },
      { t: 2, sql: 'update test set value = 12 where id = 1' },
      { t: 2, sql: 'update test set value = 18 where id = 2' },
      { t: 2, end: 'commit' },
      { t: 1, sql: 'select id, value from test where id = 2', as: 'y' },
      { t: 1, end: 'commit' },
    ],
    judge: (o) => ({
      // T2 moves 2 from y to x: every committed state has x + y = 30.
      anomaly: o.value('x', 1)! + o.value('y', 2)! !== 30,
      evidence: `T1 read ${rows(o, 'x')} and ${rows(o, 'y')}`,
    }),
  },
  {
    id: 'G-single-predicate',
    serializableCommits: true,
    family: 'G-single',
    title: 'G-single with predicate dependencies',
    ops: [
      { t: 1, sql: 'select id, value from test where value % 5 = 0', as: 'a' },
      { t: 2, sql: 'update test set value = 12 where value = 10' },
      { t: 2, end: 'commit' },
      { t: 1, sql: 'select id, value from test where value % 3 = 0', as: 'b' },
      { t: 1, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.value('a', 1) === 10 && o.value('b', 1) === 12,
      evidence: `T1 read ${rows(o, 'a')} for value % 5 = 0, then ${rows(o, 'b')} for value % 3 = 0`,
    }),
  },
  {
    id: 'G-single-write',
    family: 'G-single',
    title: 'G-single with a write predicate',
    ops: [
      { t: 1, sql: 'select id, value from test where id = 1', as: 'x' },
      { t: 2, sql: 'select id, value from test order by id' },
      { t: 2, sql: 'update test set value = 12 where id = 1' },
      { t: 2, sql: 'update test set value = 18 where id = 2' },
      { t: 2, end: 'commit' },
      { t: 1, sql: 'delete from test where value = 20 returning id, value', as: 'deleted' },
      { t: 1, end: 'abort' },
    ],
    judge: (o) => {
      if (!o.ran('deleted')) return { anomaly: false, evidence: `T1 read ${rows(o, 'x')}; its delete failed` };
      // T1 saw 1 => 10 (before T2); in that state 2 => 20 matches the delete. Deleting nothing means the
      // delete saw T2's 2 => 18: T1's read and its write saw different states.
      return {
        anomaly: o.value('x', 1) === 10 && o.read('deleted').length === 0,
        evidence: `T1 read ${rows(o, 'x')}, then its delete where value = 20 removed ${rows(o, 'deleted')}`,
      };
    },
  },
  {
    id: 'G2-item',
    family: 'G2-item',
    title: 'G2-item write skew',
    ops: [
      { t: 1, sql: 'select id, value from test where id in (1, 2) order by id', as: 'a' },
      { t: 2, sql: 'select id, value from test where id in (1, 2) order by id', as: 'b' },
      { t: 1, sql: 'update test set value = 11 where id = 1' },
      { t: 2, sql: 'update test set value = 21 where id = 2' },
      { t: 1, end: 'commit' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => ({
      // Both committed, and each read the row the other wrote before that write: T1 -rw-> T2 -rw-> T1.
      anomaly: o.committed(1) && o.committed(2) && o.value('a', 2) === 20 && o.value('b', 1) === 10,
      evidence: `T1 read ${rows(o, 'a')}, T2 read ${rows(o, 'b')}; final ${showRows(o.final)}`,
    }),
  },
  {
    id: 'G2',
    family: 'G2',
    title: 'G2 anti-dependency cycle (predicates)',
    ops: [
      { t: 1, sql: 'select id, value from test where value % 3 = 0', as: 'a' },
      { t: 2, sql: 'select id, value from test where value % 3 = 0', as: 'b' },
      { t: 1, sql: 'insert into test (id, value) values (3, 30)' },
      { t: 2, sql: 'insert into test (id, value) values (4, 42)' },
      { t: 1, end: 'commit' },
      { t: 2, end: 'commit' },
    ],
    judge: (o) => ({
      anomaly: o.committed(1) && o.committed(2) && o.read('a').length === 0 && o.read('b').length === 0,
      evidence: `T1 read ${rows(o, 'a')}, T2 read ${rows(o, 'b')} for value % 3 = 0; final ${showRows(o.final)}`,
    }),
  },
  {
    id: 'G2-read-only',
    family: 'G2',
    title: 'G2 read-only anomaly (Fekete et al., two anti-dependency edges)',
    ops: [
      { t: 1, sql: 'select id, value from test order by id', as: 'a' },
      { t: 2, sql: 'update test set value = value + 5 where id = 2' },
      { t: 2, end: 'commit' },
      { t: 3, sql: 'select id, value from test order by id', as: 'c' },
      { t: 3, end: 'commit' },
      { t: 1, sql: 'update test set value = 0 where id = 1' },
      { t: 1, end: 'commit' },
    ],
    judge: (o) => ({
      // T3 saw T2's write but not T1's, yet T1 must precede T2 (T1 read y before T2 wrote it) and T3 must
      // precede T1 (T3 read x before T1 wrote it): T1 -rw-> T2 -wr-> T3 -rw-> T1.
      anomaly:
        o.committed(1) && o.committed(2) && o.committed(3) && o.value('a', 2) === 20 && o.value('c', 2) === 25 && o.value('c', 1) === 10,
      evidence: `T1 read ${rows(o, 'a')}; read-only T3 read ${rows(o, 'c')}; final ${showRows(o.final)}`,
    }),
  },
];
