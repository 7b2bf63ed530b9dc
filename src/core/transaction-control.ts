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

const DOLLAR_QUOTE = /\$([A-Za-z_][A-Za-z_0-9]*)?\$/y;
const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z_0-9$]/;
const SPACE = /\s/;

/** The first words of each statement in `sql`, upper-cased (at most `limit` per statement; '' for anything else). */
function leadingWords(sql: string, limit: number): string[][] {
  const statements: string[][] = [[]];
  let words = statements[0]!;
  const note = (word: string) => {
    if (words.length < limit) words.push(word);
  };
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
      const escapes = c === "'" && i > 0 && (sql[i - 1] === 'e' || sql[i - 1] === 'E') && (i < 2 || !WORD_PART.test(sql[i - 2]!));
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      note('');
    } else if (c === '$' && ((DOLLAR_QUOTE.lastIndex = i), DOLLAR_QUOTE.test(sql))) {
      const tag = sql.slice(i, DOLLAR_QUOTE.lastIndex);
      const end = sql.indexOf(tag, i + tag.length);
      i = end === -1 ? n : end + tag.length;
      note('');
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j]!)) j++;
      note(sql.slice(i, j).toUpperCase());
      i = j;
    } else {
      if (!SPACE.test(c)) note('');
      i++;
    }
  }
  return statements.filter((w) => w.length > 0);
}

/** Cheap test first: most statements contain none of the words at all. */
const MENTIONS_CONTROL = /\b(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|PREPARE)\b/i;

/**
 * The transaction-control statement in `sql` (e.g. 'COMMIT', 'BEGIN', 'ROLLBACK'), or undefined when it
 * has none. `ROLLBACK TO [SAVEPOINT] x` is not one: it moves back inside the transaction.
 */
export function transactionControlIn(sql: string): string | undefined {
  if (!MENTIONS_CONTROL.test(sql)) return undefined;
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
