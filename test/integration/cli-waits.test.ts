/**
 * The operator's view of durable waits through the built `aries` CLI, as real processes on both backends,
 * with a worker process running test/fixtures/cli-waits-workflows.ts: `aries signal` (the signal id, a
 * duplicate idempotency key, an unknown or finished execution), `aries cancel --compensate`, and what
 * `status` and `list` show of SLEEPING, WAITING and SUB_COMMITTED executions.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { useCliWorker } from '../helpers/cli-worker.js';
import { hasStackTrace, runCli } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-waits-workflows.ts';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const FINAL = ['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED'];
const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries signal, cancel --compensate, and waits in status and list [${backend}]`, () => {
    // Concurrency 1: the waiting executions hold no slot, so one slot runs them all.
    const place = useCliWorker(backend, { name: 'cli-waits', fixture: FIXTURE, workerArgs: ['--concurrency', '1'], workflows: ['cw-approval@1', 'cw-sleeper@1', 'cw-order@1', 'cw-line@1', 'cw-booking@1'] });

    const cli = (args: string[]) => runCli([...args, ...place.connection]);

    async function status(id: string): Promise<any> {
      const shown = await cli(['status', id, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      return JSON.parse(shown.stdout);
    }

    /** Polls `aries status --json` until `done(detail)`; fails at a final status it did not ask for. */
    async function waitUntil(id: string, what: string, done: (detail: any) => boolean, timeoutMs = 30_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const detail = await status(id);
        if (done(detail)) return detail;
        if (FINAL.includes(detail.execution.status) || Date.now() > deadline) {
          throw new Error(`execution ${id} is ${detail.execution.status}, expected ${what}`);
        }
        await sleep(100);
      }
    }
    const waitForStatus = (id: string, wanted: string) => waitUntil(id, wanted, (d) => d.execution.status === wanted);

    async function start(workflow: string, input: unknown = {}): Promise<string> {
      const started = await cli(['start', workflow, '--input', JSON.stringify(input)]);
      expect(started.code, started.stderr).toBe(0);
      return started.stdout.trim();
    }

    async function listed(statusFilter: string, workflow: string): Promise<string> {
      const list = await cli(['list', '--status', statusFilter, '--workflow', workflow]);
      expect(list.code, list.stderr).toBe(0);
      return list.stdout;
    }

    test('a WAITING execution: status says what it waits for; signal prints the signal id, the same key again is a duplicate', async () => {
      const id = await start('cw-approval');
      await waitForStatus(id, 'WAITING');

      const shown = await cli(['status', id]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^status\s+WAITING$/m);
      expect(shown.stdout).toMatch(new RegExp(`^waiting for\\s+signal "approved" since ${TIME}, times out at ${TIME}$`, 'm'));
      expect(shown.stdout).not.toMatch(/^lease\s/m); // a waiting execution holds no lease
      expect(shown.stdout).toMatch(new RegExp(`^0\\s+signal:approved:1\\s+WAITING\\s+1\\s+waiting: signal "approved" since ${TIME}`, 'm'));
      expect(await listed('waiting', 'cw-approval')).toMatch(new RegExp(`^${id}\\s+cw-approval@1\\s+WAITING\\s+0\\s`, 'm'));

      const sent = await cli(['signal', id, 'approved', '--payload', '{"by":"ana"}', '--idempotency-key', `approval-${backend}`]);
      expect(sent.code, sent.stderr).toBe(0);
      const match = new RegExp(`^sent signal "approved" to execution ${id}\\nsignal\\s+(\\d+)\\nduplicate\\s+no\\n$`).exec(sent.stdout);
      expect(match, sent.stdout).not.toBeNull();
      const signalId = match![1]!;

      const again = await cli(['signal', id, 'approved', '--payload', '{"by":"bob"}', '--idempotency-key', `approval-${backend}`, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ executionId: id, name: 'approved', signalId, duplicate: true });
      const human = await cli(['signal', id, 'approved', '--idempotency-key', `approval-${backend}`]);
      expect(human.stdout).toBe(`idempotency key "approval-${backend}" matched signal ${signalId}, sent earlier: nothing sent again\nsignal     ${signalId}\nduplicate  yes\n`);

      const done = await waitForStatus(id, 'COMPLETED');
      expect(done.execution.output).toEqual({ decision: { by: 'ana' } });
      expect(done.signals.map((g: any) => [g.id, g.consumedBy])).toEqual([[signalId, 'signal:approved:1']]);
      const after = await cli(['status', id]);
      expect(after.stdout).not.toMatch(/^waiting for/m);
      expect(after.stdout).toMatch(/^0\s+signal:approved:1\s+COMPLETED\s+1\s+\{"by":"ana"\}$/m);
      expect(after.stdout).toMatch(/^SIGNAL\s+NAME\s+SENT\s+TAKEN BY\s+PAYLOAD$/m);
      expect(after.stdout).toMatch(new RegExp(`^${signalId}\\s+approved\\s+${TIME}\\s+signal:approved:1\\s+\\{"by":"ana"\\}$`, 'm'));

      // It is finished: a new signal is refused, and said so.
      const late = await cli(['signal', id, 'approved']);
      expect(late.code).toBe(1);
      expect(late.stdout).toBe('');
      expect(late.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is COMPLETED and cannot receive signal "approved": it is finished`));
      expect(hasStackTrace(late.stderr)).toBe(false);
    });

    test('a signal without a payload: the wait resolves to null; an unknown execution is EXECUTION_NOT_FOUND, a payload not JSON INVALID_INPUT', async () => {
      const id = await start('cw-approval');
      const sent = await cli(['signal', id, 'approved', '--json']);
      expect(sent.code, sent.stderr).toBe(0);
      expect(JSON.parse(sent.stdout)).toMatchObject({ executionId: id, name: 'approved', duplicate: false });
      const done = await waitForStatus(id, 'COMPLETED');
      expect(done.execution.output).toEqual({ decision: null });

      for (const unknown of [UNKNOWN_ID, 'not-an-id']) {
        const missing = await cli(['signal', unknown, 'approved']);
        expect(missing.code).toBe(1);
        expect(missing.stdout).toBe('');
        expect(missing.stderr).toMatch(new RegExp(`^aries: EXECUTION_NOT_FOUND: execution ${unknown} not found`));
      }
      const bad = await cli(['signal', id, 'approved', '--payload', '{"by":']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^aries: INVALID_INPUT: --payload is not valid JSON: /);
    });

    test('a SLEEPING execution: status says until when, list filters it, cancel ends it at once', async () => {
      const id = await start('cw-sleeper');
      await waitForStatus(id, 'SLEEPING');
      const shown = await cli(['status', id]);
      expect(shown.stdout).toMatch(/^status\s+SLEEPING$/m);
      expect(shown.stdout).toMatch(new RegExp(`^waiting for\\s+sleep until ${TIME}$`, 'm'));
      expect(shown.stdout).toMatch(new RegExp(`^0\\s+cool-off\\s+WAITING\\s+1\\s+waiting: sleep until ${TIME}$`, 'm'));
      const until = new Date(/waiting for\s+sleep until (\S+)/.exec(shown.stdout)![1]!).getTime();
      expect(until - Date.now()).toBeGreaterThan(3_000_000); // an hour from when it began
      expect(await listed('SLEEPING', 'cw-sleeper')).toMatch(new RegExp(`^${id}\\s+cw-sleeper@1\\s+SLEEPING\\s`, 'm'));

      const cancelled = await cli(['cancel', id]);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(cancelled.stdout).toBe(`cancelled execution ${id}\nstatus  SLEEPING -> CANCELLED\n`);
      const after = await cli(['status', id]);
      expect(after.stdout).toMatch(/^0\s+cool-off\s+CANCELLED\s+1\s+CancelledError: cancelled by an operator$/m);
      expect(await listed('SLEEPING', 'cw-sleeper')).not.toContain(id);
    });

    test('a parent WAITING with its child SUB_COMMITTED: status links them both ways, list filters SUB_COMMITTED, signals finish both', async () => {
      const id = await start('cw-order');
      const waiting = await waitUntil(id, 'WAITING with a SUB_COMMITTED child', (d) => d.execution.status === 'WAITING' && d.children[0]?.status === 'SUB_COMMITTED');
      const childId: string = waiting.children[0].id;

      const parent = await cli(['status', id]);
      expect(parent.stdout).toMatch(/^waiting for\s+signal "ship" since /m);
      expect(parent.stdout).toMatch(/^0\s+line-1\s+COMPLETED\s+1\s+10$/m);
      expect(parent.stdout).toMatch(/^CHILD\s+WORKFLOW\s+STEP\s+STATUS\s+FINISHED$/m);
      expect(parent.stdout).toMatch(new RegExp(`^${childId}\\s+cw-line\\s+line-1\\s+SUB_COMMITTED\\s`, 'm'));

      const child = await cli(['status', childId]);
      expect(child.stdout).toMatch(/^status\s+SUB_COMMITTED$/m);
      expect(child.stdout).toMatch(new RegExp(`^parent\\s+${id} \\(step "line-1", parentClose cancel\\)$`, 'm'));
      expect(child.stdout).toMatch(/^commits\s+with its parent: COMPLETED when the parent completes, compensated if it is$/m);
      expect(child.stdout).toMatch(/^output\s+10$/m);
      expect(await listed('sub_committed', 'cw-line')).toMatch(new RegExp(`^${childId}\\s+cw-line@1\\s+SUB_COMMITTED\\s+1\\s`, 'm'));

      // A SUB_COMMITTED child has finished its own run: it takes no signal.
      const toChild = await cli(['signal', childId, 'ship']);
      expect(toChild.code).toBe(1);
      expect(toChild.stderr).toMatch(/^aries: ILLEGAL_TRANSITION: .* is SUB_COMMITTED/);

      expect((await cli(['signal', id, 'ship'])).code).toBe(0);
      const done = await waitForStatus(id, 'COMPLETED');
      expect(done.execution.output).toEqual({ packed: 10 });
      expect((await status(childId)).execution.status).toBe('COMPLETED');
      expect(await listed('SUB_COMMITTED', 'cw-line')).not.toContain(childId);
    });

    test('cancel --compensate: a WAITING saga becomes COMPENSATING, a worker undoes its steps in reverse, it ends COMPENSATED', async () => {
      const dir = join(place.tmp, `booking-${Date.now()}`);
      mkdirSync(dir);
      const id = await start('cw-booking', { dir });
      await waitForStatus(id, 'WAITING');

      const cancelled = await cli(['cancel', id, '--compensate', '--reason', 'customer withdrew']);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(cancelled.stdout).toMatch(new RegExp(`^cancelled execution ${id}\\nstatus\\s+WAITING -> (COMPENSATING|COMPENSATED)\\n`));
      if (cancelled.stdout.includes('-> COMPENSATING')) expect(cancelled.stdout).toMatch(/^next\s+a worker runs its compensations in reverse order; then it is COMPENSATED$/m);

      const done = await waitForStatus(id, 'COMPENSATED');
      expect(readFileSync(join(dir, 'undone'), 'utf8')).toBe('refund EUR 30\nrelease seat 4A\n');
      expect(done.execution.error).toMatchObject({ message: 'customer withdrew' });
      expect(done.steps.map((s: any) => [s.key, s.status, s.compensationStatus])).toEqual([
        ['reserve', 'COMPLETED', 'COMPLETED'],
        ['charge', 'COMPLETED', 'COMPLETED'],
        ['signal:confirmed:1', 'CANCELLED', null],
      ]);
      // aries status marks the compensated steps; the wait the cancel cut short was never undone.
      const shown = await cli(['status', id]);
      expect(shown.stdout).toMatch(/^SEQ\s+KEY\s+STATUS\s+ATTEMPT\s+COMPENSATION\s+OUTPUT$/m);
      expect(shown.stdout).toMatch(/^\d+\s+reserve\s+COMPLETED\s+\d+\s+COMPENSATED\s/m);
      expect(shown.stdout).toMatch(/^\d+\s+charge\s+COMPLETED\s+\d+\s+COMPENSATED\s/m);
      expect(shown.stdout).toMatch(/^\d+\s+signal:confirmed:1\s+CANCELLED\s+\d+\s+-\s/m);

      const again = await cli(['cancel', id, '--compensate']);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is COMPENSATED and cannot be cancelled`));

      // --json, and a PENDING one has nothing to undo: it is simply cancelled.
      const other = await start('cw-booking', { dir });
      const asJson = await cli(['cancel', other, '--compensate', '--json']);
      expect(asJson.code, asJson.stderr).toBe(0);
      const outcome = JSON.parse(asJson.stdout);
      expect(outcome.id).toBe(other);
      expect(outcome.previousStatus === 'PENDING' ? ['CANCELLED'] : ['COMPENSATING', 'COMPENSATED']).toContain(outcome.status);
    });
  });
}
