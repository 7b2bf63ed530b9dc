/**
 * Statements that would end or restart a transaction the engine owns. A transactional step's statements
 * and the step's completion commit together only if nothing in between commits or rolls back: a COMMIT
 * sent through the step's connection would make its writes durable with no record of the step (it would
 * run again), and a ROLLBACK would undo the row lock that fences the lease. So such statements are found
 * before they are sent and refused. SAVEPOINT, RELEASE and ROLLBACK TO stay allowed: they act inside the
 * transaction, after the engine's first statement, and cannot reach back past it.
 *
 * The check reads the first words of every statement in the text (a string without parameters may hold
 * several, separated by semicolons), skipping comments and never looking inside quoted strings,
 * identifiers or dollar-quoted bodies. A COMMIT inside a DO block or procedure is refused by PostgreSQL
 * itself ("invalid transaction termination"), since the step runs inside a transaction block.
 */

/** The statement kinds refused, by their first word; `ROLLBACK TO` and `ROLLBACK … TO` are savepoint moves. */
const ENDS_TRANSACTION = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'PREPARE']);

/** The first words of each statement in `sql`, upper-cased (at most `limit` per statement). */
function leadingWords(sql: string, limit: number): string[][] {
  const statements: string[][] = [[]];
  let words = statements[0]!;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ';') {
      words = [];
      statements.push(words);
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      } while (i < n && depth > 0);
    } else if (c === "'" || c === '"') {
      // A quote doubled inside is an escaped quote; E'…' strings may also escape one with a backslash.
      const escapes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!);
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      words.push('');
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end === -1 ? n : end + tag.length;
      words.push('');
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z_0-9$]/.test(sql[j]!)) j++;
      if (words.length < limit) words.push(sql.slice(i, j).toUpperCase());
      i = j;
    } else {
      if (!/\s/.test(c)) words.push('');
      i++;
    }
  }
  return statements.filter((w) => w.length > 0);
}

/**
 * The transaction-control statement in `sql` (e.g. 'COMMIT', 'BEGIN', 'ROLLBACK'), or undefined when it
 * has none. `ROLLBACK TO [SAVEPOINT] x` is not one: it moves back inside the transaction.
 */
export function transactionControlIn(sql: string): string | undefined {
  for (const words of leadingWords(sql, 3)) {
    const first = words[0]!;
    if (!ENDS_TRANSACTION.has(first)) continue;
    if (first === 'ROLLBACK' && (words[1] === 'TO' || ((words[1] === 'WORK' || words[1] === 'TRANSACTION') && words[2] === 'TO'))) continue;
    if (first === 'START' && words[1] !== 'TRANSACTION') continue;
    if (first === 'PREPARE' && words[1] !== 'TRANSACTION') continue; // PREPARE name AS … is a prepared statement
    if ((first === 'COMMIT' || first === 'ROLLBACK') && words[1] === 'PREPARED') return `${first} PREPARED`;
    return first === 'START' || first === 'PREPARE' ? `${first} TRANSACTION` : first;
  }
  return undefined;
}
