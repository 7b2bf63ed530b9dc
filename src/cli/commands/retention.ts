/**
 * `aries retention show|set|purge`: how long finished executions and their idempotency keys are kept
 * (engine.admin.getRetention, setRetention, clearRetention) and a purge now (engine.admin.purgeFinished:
 * one bounded pass, or with --all passes until nothing is left). The built-in schedule aries.retention
 * runs the same pass every 10 seconds; this is for an operator who will not wait.
 */
import type { RetentionPolicy, StoredRetentionPolicy } from '../../core/retention-policy.js';
import type { PurgeResult } from '../../db/retention.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatDuration, formatTable, formatTime } from '../format-table.js';
import { expectPositionals, positiveInt, refuseOptions, subcommand } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { parseDurationOrNone } from '../time-args.js';

const usage = `Usage: aries retention show [options]
       aries retention set [--workflow W] [--finished DURATION|none] [--keys DURATION|none] [options]
       aries retention purge [--batch N] [--all] [options]

Finished executions (COMPLETED, COMPENSATED, CANCELLED) are deleted, with their steps, journal and
children, once older than their workflow's policy, or the default policy for workflows without one. An
idempotency key can be kept longer than its execution, so a start with it still returns the old id.
"show" prints the default and every workflow's policy. "set" replaces a policy whole: without
--workflow the default; an omitted duration (or none) keeps for ever; "set --finished none --keys none"
removes the policy. "purge" deletes now what the policies let go, in one bounded pass (what the
built-in schedule aries.retention does every 10 seconds), or with --all until nothing is left.

Options:
  --workflow W                set: the policy of workflow W (default: the default policy)
  --finished DURATION|none    set: delete a finished execution this long after it finished (30d, 12h)
  --keys DURATION|none        set: keep its idempotency key this long after it finished
  --batch N                   purge: at most N executions per pass (default 1000)
  --all                       purge: pass after pass until a pass finds nothing, printing each
  --json                      print the policies or the purge result as JSON
  -h, --help                  show this help

${CONNECTION_USAGE}
`;

const SET_FLAGS = ['workflow', 'finished', 'keys'] as const;
const PURGE_FLAGS = ['batch', 'all'] as const;

function formatPolicies(policies: StoredRetentionPolicy[]): string {
  return formatTable(
    ['WORKFLOW', 'FINISHED KEPT', 'KEYS KEPT', 'SET BY', 'UPDATED'],
    policies.map((p) => [
      p.workflow ?? '(default)',
      p.finishedMs === null ? 'for ever' : formatDuration(p.finishedMs),
      p.idempotencyKeysMs === null ? 'with the execution' : formatDuration(p.idempotencyKeysMs),
      p.source,
      formatTime(p.updatedAt),
    ]),
  );
}

const describePass = (r: PurgeResult) =>
  `${r.executions} executions deleted, ${r.keysKept} idempotency keys kept longer, ${r.keysExpired} expired keys deleted`;

export default defineCommand({
  usage,
  options: {
    workflow: { type: 'string' },
    finished: { type: 'string' },
    keys: { type: 'string' },
    batch: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: 'any',
  async run({ values, positionals, openEngine }) {
    const [sub, rest] = subcommand(positionals, ['show', 'set', 'purge'], usage);
    expectPositionals(rest, [], usage);
    if (sub !== 'set') refuseOptions(values, SET_FLAGS, `retention ${sub}`, usage);
    if (sub !== 'purge') refuseOptions(values, PURGE_FLAGS, `retention ${sub}`, usage);
    const out = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);

    if (sub === 'show') {
      const retention = await (await openEngine()).admin.getRetention();
      const policies = [...(retention.default ? [retention.default] : []), ...retention.workflows];
      const none = 'no retention policy: finished executions are kept for ever\n';
      out(retention, policies.length === 0 ? none : `${formatPolicies(policies)}${retention.default ? '' : '(no default: workflows without a policy keep theirs for ever)\n'}`);
      return;
    }
    if (sub === 'set') {
      const finished = parseDurationOrNone(values.finished, 'finished');
      const keys = parseDurationOrNone(values.keys, 'keys');
      if (finished === undefined && keys === undefined) {
        throw new UsageError('nothing to set: give --finished DURATION|none and/or --keys DURATION|none', usage);
      }
      if (values.workflow === '') throw new UsageError('--workflow must name a workflow');
      const policy: RetentionPolicy = {};
      if (finished) policy.finishedMs = finished;
      if (keys) policy.idempotencyKeysMs = keys;
      const admin = (await openEngine()).admin;
      const whose = values.workflow === undefined ? 'the default retention policy' : `the retention policy of ${values.workflow}`;
      if (policy.finishedMs === undefined && policy.idempotencyKeysMs === undefined) {
        const cleared = await admin.clearRetention(values.workflow);
        out({ workflow: values.workflow ?? null, cleared }, cleared ? `removed ${whose}\n` : `${whose} was not set: nothing removed\n`);
        return;
      }
      await admin.setRetention(policy, values.workflow);
      const stored = await admin.getRetention();
      const saved = values.workflow === undefined ? stored.default : stored.workflows.find((p) => p.workflow === values.workflow);
      out(saved, `set ${whose}\n${formatPolicies(saved ? [saved] : [])}`);
      return;
    }
    const batchSize = positiveInt(values.batch, 'batch');
    const admin = (await openEngine()).admin;
    const total: PurgeResult & { passes: number } = { executions: 0, keysKept: 0, keysExpired: 0, passes: 0 };
    for (;;) {
      const pass = await admin.purgeFinished({ batchSize });
      total.passes++;
      total.executions += pass.executions;
      total.keysKept += pass.keysKept;
      total.keysExpired += pass.keysExpired;
      const found = pass.executions + pass.keysExpired;
      if (values.all && !values.json) process.stdout.write(`pass ${total.passes}: ${describePass(pass)}\n`);
      if (!values.all || found === 0) break;
    }
    out(values.all ? total : { executions: total.executions, keysKept: total.keysKept, keysExpired: total.keysExpired }, values.all ? `done: ${describePass(total)} in ${total.passes} passes\n` : `${describePass(total)}\n`);
  },
});
