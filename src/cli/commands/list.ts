/**
 * `aries list`: executions newest first, one page at a time (keyset pages: src/db/execution-pages.ts),
 * filtered by status, workflow, creation time or an id / idempotency key. The table ends with the command
 * that prints the next page; --json gives {executions, nextCursor} for scripts to page with.
 */
import { EXECUTION_STATUSES, isExecutionStatus, type ExecutionStatus } from '../../core/execution-states.js';
import { MAX_PAGE_SIZE } from '../../db/execution-pages.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatTable, formatTime } from '../format-table.js';
import { positiveInt } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { parseTimeArg } from '../time-args.js';

const DEFAULT_LIMIT = 100;

const usage = `Usage: aries list [options]

Lists executions, newest first, one page at a time. When there are more, the table ends with the
command that prints the next page ("more: aries list ... --cursor X").

Options:
  --status S     only executions in this status (${EXECUTION_STATUSES.join(', ')})
  --workflow W   only executions of this workflow (by name)
  --since T      only executions created at or after T: an ISO-8601 time or a duration back from now
                 (90s, 15m, 2h, 1d, 1w)
  --until T      only executions created before T (same forms)
  --search S     the execution with this id, or with this exact idempotency key
  --limit N      at most N executions per page (default ${DEFAULT_LIMIT}, at most ${MAX_PAGE_SIZE})
  --cursor C     the page after the one that printed this cursor
  --json         print {executions, nextCursor} as JSON (executions without input and output;
                 "aries status <id>" shows those)
  -h, --help     show this help

${CONNECTION_USAGE}
`;

function parseStatus(value: string | undefined): ExecutionStatus | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!isExecutionStatus(upper)) {
    throw new UsageError(`--status must be one of ${EXECUTION_STATUSES.join(', ')}; got "${value}"`, usage);
  }
  return upper;
}

function parseLimit(value: string | undefined): number {
  const limit = positiveInt(value, 'limit') ?? DEFAULT_LIMIT;
  if (limit > MAX_PAGE_SIZE) throw new UsageError(`--limit must be at most ${MAX_PAGE_SIZE} (page on with --cursor), got "${value}"`);
  return limit;
}

/** A word a POSIX shell reads back unchanged. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A database URL to print: its password, if any, masked (the hint may end up in a log). */
function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '****';
    return u.toString();
  } catch {
    return url;
  }
}

export default defineCommand({
  usage,
  options: {
    status: { type: 'string' },
    workflow: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    search: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, openEngine }) {
    const status = parseStatus(values.status);
    const limit = parseLimit(values.limit);
    // A duration is resolved once, here, and the next-page hint repeats the time it resolved to: the next
    // page must be the same query, not one whose window moved on.
    const now = new Date();
    const createdAfter = parseTimeArg(values.since, 'since', now);
    const createdBefore = parseTimeArg(values.until, 'until', now);
    const search = values.search?.trim() || undefined;
    const engine = await openEngine();
    const { executions, nextCursor } = await engine.admin.listExecutions({
      status,
      workflow: values.workflow,
      createdAfter,
      createdBefore,
      search,
      limit,
      cursor: values.cursor,
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ executions, nextCursor }, null, 2)}\n`);
      return;
    }
    if (executions.length === 0) {
      process.stdout.write(values.cursor === undefined ? 'no executions\n' : 'no more executions\n');
      return;
    }
    process.stdout.write(
      formatTable(
        ['ID', 'WORKFLOW', 'STATUS', 'STEPS', 'CREATED', 'FINISHED'],
        executions.map((e) => [
          e.id,
          `${e.workflow}@${e.version}`,
          e.status,
          String(e.stepCount),
          formatTime(e.createdAt),
          formatTime(e.finishedAt),
        ]),
      ),
    );
    if (nextCursor !== null) {
      const args: [string, string | undefined][] = [
        ['--status', status],
        ['--workflow', values.workflow],
        ['--since', createdAfter?.toISOString()],
        ['--until', createdBefore?.toISOString()],
        ['--search', search],
        ['--limit', values.limit === undefined ? undefined : String(limit)],
        ['--cursor', nextCursor],
        // The database as the command line named it ($DATABASE_URL still applies when it did not).
        ['--data-dir', values['data-dir']],
        ['--database-url', values['database-url'] === undefined ? undefined : printableUrl(values['database-url'])],
      ];
      const given = args.filter((a): a is [string, string] => a[1] !== undefined);
      process.stdout.write(`more: aries list ${given.map(([flag, v]) => `${flag} ${shellWord(v)}`).join(' ')}\n`);
    }
  },
});
