/**
 * Queues, schedules and retention through the built `aries` CLI, as real processes on both backends, with
 * a worker process running test/fixtures/cli-ops-workflows.ts: `aries queue list|show|set`, `aries schedule
 * list|show|add|pause|resume|trigger|rm`, `aries retention show|set|purge`, and their refusals.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { useCliWorker } from '../helpers/cli-worker.js';
import { hasStackTrace, runCli } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-ops-workflows.ts';
const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries queue, schedule and retention [${backend}]`, () => {
    const place = useCliWorker(backend, { name: 'cli-ops', fixture: FIXTURE, workflows: ['co-job@1', 'co-quick@1'] });

    const cli = (args: string[]) => runCli([...args, ...place.connection]);
    async function ok(args: string[]): Promise<string> {
      const r = await cli(args);
      expect(r.code, `aries ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    }
    async function refused(args: string[], code: number, stderr: RegExp): Promise<void> {
      const r = await cli(args);
      expect(r.code, `aries ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(stderr);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
    const json = async (args: string[]): Promise<any> => JSON.parse(await ok([...args, '--json']));

    /** Polls until `done` holds; fails after `timeoutMs`. */
    async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await read();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
        await sleep(200);
      }
    }

    test('queue list and show give the limits and real numbers; set changes them and prints the queue; refusals', async () => {
      expect(await ok(['queue', 'list'])).toMatch(/^QUEUE\s+STATE\s+CONCURRENCY\s+PER WORKER\s+PER KEY\s+RATE\s+PENDING\s+DELAYED\s+RUNNING\s+WAITING\nco-batch\s+admitting\s+2\s+unlimited\s+unlimited\s+100\/1m\s+0\s+0\s+0\s+0\n$/);

      // Two jobs wait for a signal (holding no slot); a third is delayed a day.
      for (let i = 0; i < 2; i++) await ok(['start', 'co-job']);
      await eventually('two waiting', () => json(['queue', 'show', 'co-batch']), (q) => q.waiting === 2);
      const shown = await ok(['queue', 'show', 'co-batch']);
      expect(shown).toMatch(/^queue\s+co-batch$/m);
      expect(shown).toMatch(/^concurrency\s+2$/m);
      expect(shown).toMatch(/^rate limit\s+100\/1m \(2 started in the window\)$/m);
      expect(shown).toMatch(/^set by\s+definition$/m);
      expect(shown).toMatch(/^waiting\s+2$/m);

      // Paused: a new start stays pending (due), and shows how long it has been due.
      const paused = await ok(['queue', 'set', 'co-batch', '--pause', '--concurrency', 'none', '--worker-concurrency', '3', '--key-concurrency', '1', '--rate-limit', '5/10s']);
      expect(paused).toMatch(/^state\s+paused$/m);
      expect(paused).toMatch(/^concurrency\s+unlimited$/m);
      expect(paused).toMatch(/^worker concurrency\s+3$/m);
      expect(paused).toMatch(/^key concurrency\s+1$/m);
      expect(paused).toMatch(/^rate limit\s+5\/10s /m);
      expect(paused).toMatch(/^set by\s+operator$/m);
      await ok(['start', 'co-job']);
      await sleep(1_500);
      const held = await json(['queue', 'show', 'co-batch']);
      expect(held).toMatchObject({ paused: true, pending: 1, waiting: 2, running: 0, workerConcurrency: 3, keyConcurrency: 1, rateLimit: { limit: 5, periodMs: 10_000 } });
      expect(held.oldestDueMs).toBeGreaterThan(0);

      const resumed = await json(['queue', 'set', 'co-batch', '--resume', '--rate-limit', 'none', '--key-concurrency', 'none']);
      expect(resumed).toMatchObject({ paused: false, rateLimit: null, keyConcurrency: null, concurrency: null });
      await eventually('the held one admitted', () => json(['queue', 'show', 'co-batch']), (q) => q.pending === 0 && q.waiting === 3);
      expect(await ok(['queue', 'list'])).toMatch(/^co-batch\s+admitting\s+unlimited\s+3\s+unlimited\s+unlimited\s+0\s+0\s+0\s+3$/m);

      await refused(['queue', 'show', 'nope'], 1, /^aries: UNKNOWN_QUEUE: unknown queue "nope"\n$/);
      await refused(['queue', 'set', 'nope', '--pause'], 1, /^aries: UNKNOWN_QUEUE: unknown queue "nope"/);
      await refused(['queue', 'set', 'co-batch'], 2, /^aries: nothing to change/);
      await refused(['queue', 'set', 'co-batch', '--concurrency', '0'], 2, /^aries: --concurrency must be a positive integer or none, got "0"/);
      await refused(['queue', 'set', 'co-batch', '--rate-limit', '100'], 2, /^aries: --rate-limit must be N\/DURATION/);
      await refused(['queue', 'set', 'co-batch', '--pause', '--resume'], 2, /^aries: --pause and --resume contradict/);
      await refused(['queue', 'show', 'co-batch', '--pause'], 2, /^aries: --pause does not apply to "queue show"/);
      await refused(['queue', 'drop', 'co-batch'], 2, /^aries: unknown subcommand "drop": one of list, show, set/);
      await refused(['queue', 'show'], 2, /^aries: missing <name>/);
    });

    test('schedule add, list, show (runs), pause, resume, trigger, rm; the built-in ones; refusals before anything is stored', async () => {
      const list = await ok(['schedule', 'list']);
      expect(list).toMatch(/^aries\.auto-recover\s+active\s+0 \*\/5 \* \* \* \*\s+UTC\s+action auto_recover_failures\s/m);
      expect(list).toMatch(/^aries\.retention\s+active\s+\*\/10 \* \* \* \* \*\s+UTC\s+action purge_finished\s/m);

      // Refused with the reason, and nothing stored.
      await refused(['schedule', 'add', 'bad', '--cron', 'x y', '--workflow', 'co-quick'], 1, /^aries: INVALID_INPUT: schedule "bad": invalid cron expression "x y"/);
      await refused(['schedule', 'add', 'bad', '--cron', '* * * * *', '--timezone', 'Mars/Olympus', '--workflow', 'co-quick'], 1, /^aries: INVALID_INPUT: schedule "bad": unknown timezone "Mars\/Olympus"/);
      await refused(['schedule', 'add', 'bad', '--cron', '* * * * *', '--workflow', 'nope'], 1, /^aries: UNKNOWN_WORKFLOW: unknown workflow "nope"/);
      await refused(['schedule', 'add', 'bad', '--cron', '* * * * *', '--workflow', 'co-quick', '--misfire', 'never'], 2, /^aries: --misfire must be skip, once or all/);
      await refused(['schedule', 'add', 'bad', '--cron', '* * * * *', '--workflow', 'co-quick', '--max-lateness', 'soon'], 2, /^aries: --max-lateness must be a duration/);
      await refused(['schedule', 'add', 'bad', '--cron', '* * * * *', '--workflow', 'co-quick', '--input', '{'], 1, /^aries: INVALID_INPUT: --input is not valid JSON/);
      await refused(['schedule', 'add', 'bad', '--workflow', 'co-quick'], 2, /^aries: missing --cron EXPR/);
      await refused(['schedule', 'show', 'bad'], 1, /^aries: SCHEDULE_NOT_FOUND: schedule "bad" not found/);

      const added = await ok(['schedule', 'add', 'ticker', '--cron', '* * * * * *', '--workflow', 'co-quick', '--input', '{"n":7}', '--misfire', 'all', '--max-lateness', '30s', '--timezone', 'Europe/Berlin']);
      expect(added).toMatch(/^created schedule "ticker"\nschedule\s+ticker\nstate\s+active\ncron\s+\* \* \* \* \* \* \(Europe\/Berlin\)\nruns\s+co-quick\ninput\s+\{"n":7\}\nmisfire\s+all, on time within 30s\n/);
      expect(added).toMatch(new RegExp(`^next fire\\s+${TIME}$`, 'm'));
      const runs = await eventually('two runs', () => json(['schedule', 'show', 'ticker']), (s) => s.slots.filter((x: any) => x.executionStatus === 'COMPLETED').length >= 2);
      expect(runs.slots.every((x: any) => x.status === 'started')).toBe(true);
      const shown = await ok(['schedule', 'show', 'ticker', '--limit', '2']);
      expect(shown).toMatch(/^SLOT\s+STATUS\s+SLOTS\s+EXECUTION \/ RESULT$/m);
      expect(shown.match(new RegExp(`^${TIME}\\s+started\\s+1\\s+[0-9a-f-]{36} \\S+$`, 'gm'))).toHaveLength(2);

      // A change of the same name: created no.
      const changed = await json(['schedule', 'add', 'ticker', '--cron', '*/2 * * * * *', '--workflow', 'co-quick', '--misfire', 'skip']);
      expect(changed).toMatchObject({ created: false, cron: '*/2 * * * * *', timezone: 'UTC', misfire: 'skip', input: null });

      expect(await ok(['schedule', 'pause', 'ticker'])).toBe('paused schedule "ticker": no slot fires until it is resumed\n');
      expect(await ok(['schedule', 'pause', 'ticker'])).toBe('schedule "ticker" was paused already\n');
      const before = (await json(['schedule', 'show', 'ticker'])).slots.length;
      await sleep(2_500);
      // Paused: only a manual run, which fires even now.
      const triggered = await ok(['schedule', 'trigger', 'ticker']);
      const manualId = /^triggered schedule "ticker": started execution ([0-9a-f-]{36})\n$/.exec(triggered)?.[1];
      expect(manualId, triggered).toBeDefined();
      const pausedDetail = await json(['schedule', 'show', 'ticker']);
      expect(pausedDetail.slots.length).toBe(before + 1);
      expect(pausedDetail.slots[0]).toMatchObject({ status: 'manual', executionId: manualId });

      // Resumed after slots came due: misfire skip records them as a skipped range.
      expect(await ok(['schedule', 'resume', 'ticker'])).toBe('resumed schedule "ticker"\n');
      expect(await ok(['schedule', 'resume', 'ticker'])).toBe('schedule "ticker" was not paused\n');
      await eventually('a skipped range', () => json(['schedule', 'show', 'ticker']), (s) => s.slots.some((x: any) => x.status === 'skipped' && x.count >= 1));
      expect(await ok(['schedule', 'show', 'ticker'])).toMatch(new RegExp(`^${TIME}( … ${TIME})?\\s+skipped\\s+\\d+\\s+-$`, 'm'));

      // A built-in schedule: triggered (its action's count), paused and resumed, never deleted.
      expect(await ok(['schedule', 'trigger', 'aries.auto-recover'])).toMatch(/^triggered schedule "aries.auto-recover": result \d+\n$/);
      await refused(['schedule', 'rm', 'aries.retention'], 1, /^aries: INVALID_INPUT: schedule "aries.retention" is built in: pause it instead/);
      await refused(['schedule', 'add', 'aries.mine', '--cron', '* * * * *', '--workflow', 'co-quick'], 1, /^aries: INVALID_INPUT: schedule names beginning "aries." are built in/);

      expect(await ok(['schedule', 'rm', 'ticker'])).toBe('deleted schedule "ticker" and its slot records\n');
      await refused(['schedule', 'show', 'ticker'], 1, /^aries: SCHEDULE_NOT_FOUND/);
      await refused(['schedule', 'rm', 'ticker'], 1, /^aries: SCHEDULE_NOT_FOUND/);
      await refused(['schedule', 'pause', 'ticker'], 1, /^aries: SCHEDULE_NOT_FOUND/);
      await refused(['schedule', 'trigger', 'ticker'], 1, /^aries: SCHEDULE_NOT_FOUND/);
      await refused(['schedule', 'list', '--cron', '* * * * *'], 2, /^aries: --cron does not apply to "schedule list"/);
    });

    test('retention show, set (default and per workflow, none removes), purge one pass and --all with progress', async () => {
      // The built-in pass must not purge before the command does.
      await ok(['schedule', 'pause', 'aries.retention']);
      expect(await ok(['retention', 'show'])).toBe('no retention policy: finished executions are kept for ever\n');

      const set = await ok(['retention', 'set', '--finished', '1s', '--keys', '1d']);
      expect(set).toMatch(/^set the default retention policy\nWORKFLOW\s+FINISHED KEPT\s+KEYS KEPT\s+SET BY\s+UPDATED\n\(default\)\s+1s\s+1d\s+operator\s+/);
      expect(await json(['retention', 'set', '--workflow', 'co-job', '--finished', '30d'])).toMatchObject({ workflow: 'co-job', finishedMs: 30 * 86_400_000, idempotencyKeysMs: null });
      const shown = await ok(['retention', 'show']);
      expect(shown).toMatch(/^\(default\)\s+1s\s+1d\s+operator\s/m);
      expect(shown).toMatch(/^co-job\s+30d\s+with the execution\s+operator\s/m);

      // What earlier tests finished goes first, so the passes below count only these five.
      await sleep(1_500);
      expect(await ok(['retention', 'purge', '--all'])).toMatch(/^done: \d+ executions deleted, .* in \d+ passes\n$/m);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const started = await json(['start', 'co-quick', '--input', String(i), '--idempotency-key', `q-${i}`, '--wait']);
        expect(started).toMatchObject({ created: true, status: 'COMPLETED', output: i });
        ids.push(started.id);
      }

      await sleep(1_500);
      const one = await json(['retention', 'purge', '--batch', '2']);
      expect(one).toEqual({ executions: 2, keysKept: 2, keysExpired: 0 });
      const all = await ok(['retention', 'purge', '--all', '--batch', '2']);
      expect(all).toBe(
        'pass 1: 2 executions deleted, 2 idempotency keys kept longer, 0 expired keys deleted\n' +
          'pass 2: 1 executions deleted, 1 idempotency keys kept longer, 0 expired keys deleted\n' +
          'pass 3: 0 executions deleted, 0 idempotency keys kept longer, 0 expired keys deleted\n' +
          'done: 3 executions deleted, 3 idempotency keys kept longer, 0 expired keys deleted in 3 passes\n',
      );
      // The executions are gone; their kept keys still name them.
      expect(await json(['start', 'co-quick', '--input', '0', '--idempotency-key', 'q-0'])).toEqual({ id: ids[0], created: false });
      for (const id of ids) expect(await ok(['list', '--search', id])).not.toContain(id);

      expect(await ok(['retention', 'set', '--workflow', 'co-job', '--finished', 'none', '--keys', 'none'])).toBe('removed the retention policy of co-job\n');
      expect(await ok(['retention', 'set', '--workflow', 'co-job', '--finished', 'none'])).toBe('the retention policy of co-job was not set: nothing removed\n');
      await refused(['retention', 'set'], 2, /^aries: nothing to set/);
      await refused(['retention', 'set', '--finished', '0s'], 2, /^aries: --finished must be a duration/);
      await refused(['retention', 'set', '--keys', 'forever'], 2, /^aries: --keys must be a duration/);
      await refused(['retention', 'purge', '--batch', '0'], 2, /^aries: --batch must be a positive integer/);
      await refused(['retention', 'show', '--all'], 2, /^aries: --all does not apply to "retention show"/);
      await refused(['retention', 'purge', 'now'], 2, /^aries: unexpected argument "now"/);
      await ok(['retention', 'set', '--finished', 'none']);
      await ok(['schedule', 'resume', 'aries.retention']);
    });
  });
}
