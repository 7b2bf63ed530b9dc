/**
 * engine.schedule's options, checked before anything is stored: the cron expression and timezone (by
 * croner and Intl, the database cannot), the misfire policy, the lateness bound and the input. Each
 * refusal names what is wrong (InvalidInputError).
 */
import { cronProblem, MISFIRE_POLICIES, timezoneProblem, type MisfirePolicy } from '../core/schedule-slots.js';
import { encodeStored } from '../core/json-value.js';
import { InvalidDefinitionError, InvalidInputError } from '../errors.js';
import { isWorkflow, type Workflow } from './define-workflow.js';

export interface ScheduleOptions<Input = unknown> {
  /** Five fields (minute precision) or six (seconds first), read in `timezone`: '0 2 * * *', '*\/10 * * * * *'. */
  cron: string;
  /** An IANA timezone (default 'UTC'); slots follow its daylight-saving changes. */
  timezone?: string;
  /** What each slot starts: a workflow definition (registered here) or the name of a registered one. */
  workflow: Workflow<Input, unknown> | string;
  /** When starting by name: the version (default: the newest registered when each slot starts). */
  version?: string;
  input?: Input;
  /** Slots that came due while nothing fired (downtime, pause): 'skip' (default), 'once' or 'all'. */
  misfire?: MisfirePolicy;
  /** A slot is on time when it starts within this many ms of its slot time (default 60 s). */
  maxLatenessMs?: number;
}

export const DEFAULT_MAX_LATENESS_MS = 60_000;

export interface CheckedSchedule {
  name: string;
  cron: string;
  timezone: string;
  workflow: string;
  version: string | null;
  /** The definition to register first, when given one. */
  definition: Workflow | undefined;
  inputJson: string | null;
  misfire: MisfirePolicy;
  maxLatenessMs: number;
}

export function checkSchedule(name: unknown, options: unknown, maxPayloadBytes: number): CheckedSchedule {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name, 'utf8') > 256) {
    throw new InvalidInputError(`a schedule needs a name of 1 to 256 bytes, got ${JSON.stringify(name) ?? String(name)}`);
  }
  if (name.startsWith('aries.')) throw new InvalidInputError(`schedule names beginning "aries." are built in; choose another than "${name}"`);
  if (typeof options !== 'object' || options === null) throw new InvalidInputError('engine.schedule needs options: { cron, workflow, ... }');
  const o = options as Partial<ScheduleOptions>;
  const cronWrong = cronProblem(o.cron);
  if (cronWrong) throw new InvalidInputError(`schedule "${name}": ${cronWrong}`);
  const timezone = o.timezone ?? 'UTC';
  const tzWrong = timezoneProblem(timezone);
  if (tzWrong) throw new InvalidInputError(`schedule "${name}": ${tzWrong}`);
  const misfire = o.misfire ?? 'skip';
  if (!(MISFIRE_POLICIES as readonly string[]).includes(misfire)) {
    throw new InvalidInputError(`schedule "${name}": misfire must be 'skip', 'once' or 'all', got ${JSON.stringify(misfire) ?? String(misfire)}`);
  }
  const maxLatenessMs = o.maxLatenessMs ?? DEFAULT_MAX_LATENESS_MS;
  if (typeof maxLatenessMs !== 'number' || !Number.isFinite(maxLatenessMs) || maxLatenessMs <= 0) {
    throw new InvalidInputError(`schedule "${name}": maxLatenessMs must be a positive number of milliseconds, got ${String(maxLatenessMs)}`);
  }
  let workflow: string;
  let version: string | null;
  let definition: Workflow | undefined;
  if (typeof o.workflow === 'string' && o.workflow !== '') {
    workflow = o.workflow;
    version = o.version ?? null;
  } else if (isWorkflow(o.workflow)) {
    definition = o.workflow as Workflow;
    workflow = definition.name;
    version = definition.version;
  } else {
    throw new InvalidDefinitionError(`schedule "${name}": workflow must come from defineWorkflow() or be a registered workflow's name`);
  }
  const inputJson = encodeStored(o.input === undefined ? null : o.input, `input of schedule "${name}"`, maxPayloadBytes);
  return { name, cron: o.cron!, timezone, workflow, version, definition, inputJson, misfire, maxLatenessMs: Math.ceil(maxLatenessMs) };
}
