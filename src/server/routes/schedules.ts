/**
 * /api/schedules: every schedule (definition, paused, next fire time, newest slots), one with its recent
 * slot records (started, manual, and the skipped and missed ranges), creating or changing one (PUT, an
 * upsert through engine.schedule, so the cron expression and timezone are checked as the SDK checks
 * them), pausing, resuming, one run now, and deleting.
 */
import { InvalidInputError } from '../../errors.js';
import type { ScheduleOptions } from '../../sdk/schedule-options.js';
import { bodyNumber, bodyString, optionalInt, refuseUnknownFields } from '../query-params.js';
import type { Route } from '../route.js';

const DEFINITION_FIELDS = ['cron', 'timezone', 'workflow', 'version', 'input', 'misfire', 'maxLatenessMs'] as const;

/** The body of a PUT as engine.schedule's options; the engine refuses a bad cron, timezone or misfire with the reason. */
function scheduleOptions(body: Record<string, unknown>): ScheduleOptions {
  refuseUnknownFields(body, DEFINITION_FIELDS);
  const cron = bodyString(body, 'cron');
  if (cron === undefined) throw new InvalidInputError('cron (a cron expression) is required', { field: 'cron' });
  const workflow = bodyString(body, 'workflow');
  if (workflow === undefined || workflow === '') throw new InvalidInputError('workflow (a registered workflow name) is required', { field: 'workflow' });
  const options: ScheduleOptions = { cron, workflow, input: body.input };
  const timezone = bodyString(body, 'timezone');
  if (timezone !== undefined) options.timezone = timezone;
  const version = bodyString(body, 'version');
  if (version !== undefined) options.version = version;
  const misfire = bodyString(body, 'misfire');
  if (misfire !== undefined) options.misfire = misfire as ScheduleOptions['misfire'];
  const maxLatenessMs = bodyNumber(body, 'maxLatenessMs');
  if (maxLatenessMs !== undefined) options.maxLatenessMs = maxLatenessMs;
  return options;
}

export const scheduleRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/schedules',
    async handle({ engine }) {
      return { body: { schedules: await engine.admin.listSchedules() } };
    },
  },
  {
    method: 'GET',
    path: '/api/schedules/{name}',
    async handle({ engine, params, query }) {
      const limit = optionalInt(query, 'limit', 1, 1_000);
      return { body: await engine.admin.getSchedule(params.name!, limit === undefined ? {} : { limit }) };
    },
  },
  {
    method: 'PUT',
    path: '/api/schedules/{name}',
    bodyFields: DEFINITION_FIELDS,
    async handle({ engine, params, body }) {
      const { created } = await engine.schedule(params.name!, scheduleOptions(body));
      return { status: created ? 201 : 200, body: { created, schedule: await engine.admin.getSchedule(params.name!) } };
    },
  },
  {
    method: 'DELETE',
    path: '/api/schedules/{name}',
    async handle({ engine, params }) {
      await engine.admin.deleteSchedule(params.name!);
      return { body: { deleted: params.name! } };
    },
  },
  {
    method: 'POST',
    path: '/api/schedules/{name}/pause',
    async handle({ engine, params }) {
      const { wasPaused } = await engine.admin.pauseSchedule(params.name!);
      return { body: { wasPaused, schedule: await engine.admin.getSchedule(params.name!) } };
    },
  },
  {
    method: 'POST',
    path: '/api/schedules/{name}/resume',
    async handle({ engine, params }) {
      const { wasPaused } = await engine.admin.resumeSchedule(params.name!);
      return { body: { wasPaused, schedule: await engine.admin.getSchedule(params.name!) } };
    },
  },
  {
    method: 'POST',
    path: '/api/schedules/{name}/trigger',
    async handle({ engine, params }) {
      const { executionId, actionResult } = await engine.admin.triggerSchedule(params.name!);
      return { body: { executionId, actionResult } };
    },
  },
];
