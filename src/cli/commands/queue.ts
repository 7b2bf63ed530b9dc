/**
 * `aries queue list|show|set`: the queues with their limits and live numbers (engine.admin.listQueues,
 * getQueue), and an operator's change at runtime (engine.admin.setQueue), which the next claim applies
 * and a later deploy of the queue's definition does not overwrite. Values are checked before any
 * database is opened; an unknown queue is UNKNOWN_QUEUE (exit 1).
 */
import type { QueueChange, QueueInfo } from '../../db/queues.js';
import { UnknownQueueError } from '../../errors.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatDuration, formatFields, formatTable, formatTime } from '../format-table.js';
import { expectPositionals, positiveIntOrNone, refuseOptions, subcommand } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { durationMs } from '../time-args.js';

const usage = `Usage: aries queue list [options]
       aries queue show <name> [options]
       aries queue set <name> [limits] [--pause|--resume] [options]

Queues admit executions under limits: running at once across every worker (concurrency), per worker,
per queue key, and first starts per time window (rate). "list" shows every queue, "show" one, with its
numbers now: pending (due), delayed (not due yet), running (holding a slot), waiting (sleeping or
waiting, holding none). "set" changes a queue at runtime; the next claim applies it, and a deploy of
the queue's definition keeps it. It prints the queue after the change.

Limits (set; none removes the limit: unlimited):
  --concurrency N|none          running at once, across every worker
  --worker-concurrency N|none   running at once per worker
  --key-concurrency N|none      running at once per queue key
  --rate-limit N/DURATION|none  first starts per sliding window, e.g. 100/1m, 5/10s
  --pause                       admit nothing until resumed (running executions go on)
  --resume                      admit again

Options:
  --json       print the queue(s) as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

const SET_FLAGS = ['concurrency', 'worker-concurrency', 'key-concurrency', 'rate-limit', 'pause', 'resume'] as const;

function parseRateLimit(value: string | undefined): QueueChange['rateLimit'] {
  if (value === 'none') return null;
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(.+)$/.exec(value.trim());
  const limit = match ? Number(match[1]) : NaN;
  const periodMs = match ? durationMs(match[2]!) : undefined;
  if (!match || limit < 1 || limit > 2_147_483_647 || periodMs === undefined || periodMs > 2_147_483_647) {
    throw new UsageError(`--rate-limit must be N/DURATION (starts per window, e.g. 100/1m or 5/10s) or none; got "${value}"`);
  }
  return { limit, periodMs };
}

/** The change `set` asks for, checked; at least one setting. */
function parseChange(values: Record<string, string | boolean | undefined>): QueueChange {
  if (values.pause && values.resume) throw new UsageError('--pause and --resume contradict each other; give one of them');
  const change: QueueChange = {};
  const concurrency = positiveIntOrNone(values.concurrency as string | undefined, 'concurrency');
  const worker = positiveIntOrNone(values['worker-concurrency'] as string | undefined, 'worker-concurrency');
  const key = positiveIntOrNone(values['key-concurrency'] as string | undefined, 'key-concurrency');
  const rate = parseRateLimit(values['rate-limit'] as string | undefined);
  if (concurrency !== undefined) change.concurrency = concurrency;
  if (worker !== undefined) change.workerConcurrency = worker;
  if (key !== undefined) change.keyConcurrency = key;
  if (rate !== undefined) change.rateLimit = rate;
  if (values.pause) change.paused = true;
  if (values.resume) change.paused = false;
  if (Object.keys(change).length === 0) {
    throw new UsageError('nothing to change: give a limit (--concurrency, --worker-concurrency, --key-concurrency, --rate-limit), --pause or --resume', usage);
  }
  return change;
}

const limit = (n: number | null) => (n === null ? 'unlimited' : String(n));
const rate = (r: QueueInfo['rateLimit']) => (r === null ? 'unlimited' : `${r.limit}/${formatDuration(r.periodMs)}`);

function formatQueue(q: QueueInfo): string {
  return formatFields([
    ['queue', q.name],
    ['state', q.paused ? 'paused' : 'admitting'],
    ['concurrency', limit(q.concurrency)],
    ['worker concurrency', limit(q.workerConcurrency)],
    ['key concurrency', limit(q.keyConcurrency)],
    ['rate limit', q.rateLimit === null ? 'unlimited' : `${rate(q.rateLimit)} (${q.startedInWindow ?? 0} started in the window)`],
    ['set by', q.source],
    ['pending', String(q.pending)],
    ['delayed', String(q.delayed)],
    ['running', String(q.running)],
    ['waiting', String(q.waiting)],
    ['oldest due', q.oldestDueMs === null ? '-' : `${(q.oldestDueMs / 1000).toFixed(1)}s ago`],
    ['updated', formatTime(q.updatedAt)],
  ]);
}

function formatQueues(queues: QueueInfo[]): string {
  return formatTable(
    ['QUEUE', 'STATE', 'CONCURRENCY', 'PER WORKER', 'PER KEY', 'RATE', 'PENDING', 'DELAYED', 'RUNNING', 'WAITING'],
    queues.map((q) => [
      q.name,
      q.paused ? 'paused' : 'admitting',
      limit(q.concurrency),
      limit(q.workerConcurrency),
      limit(q.keyConcurrency),
      rate(q.rateLimit),
      String(q.pending),
      String(q.delayed),
      String(q.running),
      String(q.waiting),
    ]),
  );
}

export default defineCommand({
  usage,
  options: {
    concurrency: { type: 'string' },
    'worker-concurrency': { type: 'string' },
    'key-concurrency': { type: 'string' },
    'rate-limit': { type: 'string' },
    pause: { type: 'boolean' },
    resume: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: 'any',
  async run({ values, positionals, openEngine }) {
    const [sub, rest] = subcommand(positionals, ['list', 'show', 'set'], usage);
    if (sub !== 'set') refuseOptions(values, SET_FLAGS, `queue ${sub}`, usage);
    const print = (q: QueueInfo) => process.stdout.write(values.json ? `${JSON.stringify(q, null, 2)}\n` : formatQueue(q));
    if (sub === 'list') {
      expectPositionals(rest, [], usage);
      const queues = await (await openEngine()).admin.listQueues();
      if (values.json) process.stdout.write(`${JSON.stringify(queues, null, 2)}\n`);
      else process.stdout.write(queues.length === 0 ? 'no queues\n' : formatQueues(queues));
      return;
    }
    const [name] = expectPositionals(rest, ['name'], usage) as [string];
    if (sub === 'show') {
      const queue = await (await openEngine()).admin.getQueue(name);
      if (!queue) throw new UnknownQueueError(`unknown queue "${name}"`);
      print(queue);
      return;
    }
    const change = parseChange(values);
    print(await (await openEngine()).admin.setQueue(name, change));
  },
});
