/**
 * `aries schedule list|show|add|pause|resume|trigger|rm`: cron schedules as engine.schedule and
 * engine.admin keep them. `add` creates or changes one (engine.schedule: an invalid cron, an unknown
 * timezone or workflow is refused with the reason before anything is stored); `show` gives its next
 * slot and its newest slot records (runs, skipped and missed ranges). The built-in schedules
 * (aries.auto-recover, aries.retention) can be shown, paused, resumed and triggered.
 */
import type { MisfirePolicy } from '../../core/schedule-slots.js';
import type { Schedule, ScheduleSlot } from '../../db/schedules.js';
import { InvalidInputError } from '../../errors.js';
import { UsageError } from '../cli-error.js';
import { CONNECTION_USAGE } from '../connection-args.js';
import { formatDuration, formatFields, formatTable, formatTime, formatValue } from '../format-table.js';
import { expectPositionals, positiveInt, refuseOptions, subcommand } from '../parse-command-args.js';
import { defineCommand } from '../run-command.js';
import { parseDurationArg } from '../time-args.js';

const usage = `Usage: aries schedule list [options]
       aries schedule show <name> [--limit N] [options]
       aries schedule add <name> --cron EXPR --workflow NAME [schedule options] [options]
       aries schedule pause|resume|trigger|rm <name> [options]

A schedule starts one execution of a workflow at every slot of a cron expression, once per slot
whatever the number of workers. "add" creates the schedule or changes it; an invalid cron expression,
an unknown timezone or workflow is refused before anything is stored. "show" prints its next slot and
its newest slot records: runs started, manual runs, and ranges of slots skipped or missed (misfire).
"pause" stops it, "resume" lets it fire again (slots that came due meanwhile follow its misfire
policy), "trigger" runs it once now (even paused), "rm" deletes it and its slot records (not the
executions it started). The built-in schedules (aries.auto-recover, aries.retention) can be paused,
not deleted.

Schedule options (add):
  --cron EXPR              five fields, or six with seconds first: "0 2 * * *", "*/10 * * * * *"
  --workflow NAME          the registered workflow each slot starts
  --version V              that version (default: the newest registered when each slot starts)
  --timezone TZ            an IANA timezone the cron is read in (default UTC)
  --input JSON             each execution's input (default: null)
  --misfire skip|once|all  slots that came due while nothing fired (default skip)
  --max-lateness DURATION  a slot is on time when started this soon after its time (default 1m)

Options:
  --limit N    show: at most N slot records (default 20)
  --json       print the schedule(s) or the result as JSON
  -h, --help   show this help

${CONNECTION_USAGE}
`;

const ADD_FLAGS = ['cron', 'workflow', 'version', 'timezone', 'input', 'misfire', 'max-lateness'] as const;
const SUBCOMMANDS = ['list', 'show', 'add', 'pause', 'resume', 'trigger', 'rm'] as const;

function parseInput(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`--input is not valid JSON: ${(err as Error).message} (input: ${text.slice(0, 80)})`, { field: 'input' });
  }
}

/** What a schedule runs: its workflow (and version), or a built-in's action. */
const target = (s: Schedule) => (s.workflow === null ? `action ${s.action ?? '?'}` : s.version === null ? s.workflow : `${s.workflow}@${s.version}`);

function formatSlot(slot: ScheduleSlot): string[] {
  const when = slot.throughAt === null ? formatTime(slot.slotAt) : `${formatTime(slot.slotAt)} … ${formatTime(slot.throughAt)}`;
  const outcome =
    slot.executionId !== null
      ? `${slot.executionId} ${slot.executionStatus ?? '(deleted)'}`
      : slot.actionResult !== null
        ? `result ${slot.actionResult}`
        : '-';
  return [when, slot.status, String(slot.count), outcome];
}

/** The schedule's fields, and its slot records when given. */
function formatSchedule(s: Schedule, slots?: ScheduleSlot[]): string {
  const fields = formatFields([
    ['schedule', s.name],
    ['state', s.paused ? 'paused' : 'active'],
    ['cron', `${s.cron} (${s.timezone})`],
    ['runs', target(s)],
    ['input', formatValue(s.input)],
    ['misfire', `${s.misfire}, on time within ${formatDuration(s.maxLatenessMs)}`],
    ['next fire', s.paused ? `${formatTime(s.nextFireAt)} (paused)` : formatTime(s.nextFireAt)],
    ['last slot', formatTime(s.lastSlotAt)],
  ]);
  if (slots === undefined) return fields;
  if (slots.length === 0) return `${fields}\nno slot handled yet\n`;
  return `${fields}\n${formatTable(['SLOT', 'STATUS', 'SLOTS', 'EXECUTION / RESULT'], slots.map(formatSlot))}`;
}

function formatSchedules(schedules: Schedule[]): string {
  return formatTable(
    ['SCHEDULE', 'STATE', 'CRON', 'TIMEZONE', 'RUNS', 'NEXT FIRE', 'LAST SLOT'],
    schedules.map((s) => [s.name, s.paused ? 'paused' : 'active', s.cron, s.timezone, target(s), formatTime(s.nextFireAt), formatTime(s.lastSlotAt)]),
  );
}

function parseMisfire(value: string | undefined): MisfirePolicy | undefined {
  if (value === undefined || value === 'skip' || value === 'once' || value === 'all') return value;
  throw new UsageError(`--misfire must be skip, once or all; got "${value}"`);
}

export default defineCommand({
  usage,
  options: {
    cron: { type: 'string' },
    workflow: { type: 'string' },
    version: { type: 'string' },
    timezone: { type: 'string' },
    input: { type: 'string' },
    misfire: { type: 'string' },
    'max-lateness': { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: 'any',
  async run({ values, positionals, openEngine }) {
    const [sub, rest] = subcommand(positionals, SUBCOMMANDS, usage);
    if (sub !== 'add') refuseOptions(values, ADD_FLAGS, `schedule ${sub}`, usage);
    if (sub !== 'show') refuseOptions(values, ['limit'], `schedule ${sub}`, usage);
    const out = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);

    if (sub === 'list') {
      expectPositionals(rest, [], usage);
      const schedules = await (await openEngine()).admin.listSchedules();
      out(schedules, schedules.length === 0 ? 'no schedules\n' : formatSchedules(schedules));
      return;
    }
    const [name] = expectPositionals(rest, ['name'], usage) as [string];
    switch (sub) {
      case 'show': {
        const limit = positiveInt(values.limit, 'limit') ?? 20;
        const detail = await (await openEngine()).admin.getSchedule(name, { limit });
        out(detail, formatSchedule(detail, detail.slots));
        return;
      }
      case 'add': {
        if (values.cron === undefined) throw new UsageError('missing --cron EXPR: when the schedule fires', usage);
        if (values.workflow === undefined) throw new UsageError('missing --workflow NAME: what each slot starts', usage);
        const options = {
          cron: values.cron,
          workflow: values.workflow,
          version: values.version,
          timezone: values.timezone,
          input: parseInput(values.input),
          misfire: parseMisfire(values.misfire),
          maxLatenessMs: parseDurationArg(values['max-lateness'], 'max-lateness'),
        };
        const engine = await openEngine();
        const { created } = await engine.schedule(name, options);
        const saved = await engine.admin.getSchedule(name, { limit: 1 });
        out({ ...saved, created }, `${created ? 'created' : 'changed'} schedule "${name}"\n${formatSchedule(saved)}`);
        return;
      }
      case 'pause':
      case 'resume': {
        const admin = (await openEngine()).admin;
        const { wasPaused } = sub === 'pause' ? await admin.pauseSchedule(name) : await admin.resumeSchedule(name);
        const text =
          sub === 'pause'
            ? wasPaused ? `schedule "${name}" was paused already\n` : `paused schedule "${name}": no slot fires until it is resumed\n`
            : wasPaused ? `resumed schedule "${name}"\n` : `schedule "${name}" was not paused\n`;
        out({ name, wasPaused, paused: sub === 'pause' }, text);
        return;
      }
      case 'trigger': {
        const result = await (await openEngine()).admin.triggerSchedule(name);
        const text = result.executionId !== null ? `triggered schedule "${name}": started execution ${result.executionId}\n` : `triggered schedule "${name}": result ${result.actionResult ?? 0}\n`;
        out({ name, ...result }, text);
        return;
      }
      case 'rm': {
        // A built-in schedule is refused by the database (pause it instead): INVALID_INPUT.
        await (await openEngine()).admin.deleteSchedule(name);
        out({ name, deleted: true }, `deleted schedule "${name}" and its slot records\n`);
        return;
      }
    }
  },
});
