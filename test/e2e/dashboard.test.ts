/**
 * The dashboard end to end, on both backends: an engine, a worker and the API server in this process,
 * Debian's Chromium driving the built dashboard. An operator finds a FAILED execution (list, failures
 * view), recovers it from its page and sees it complete; cancels a pending one; searches, filters, reads
 * the charts, expands a truncated payload; reads what waits wait for (a sleep until when, a signal wait
 * for what and since when) and sends the awaited signal from the page; follows a parent to its child and
 * back; sees the SLEEPING and WAITING cards count what the database holds; reads a queue's depth and
 * limits and changes one, pauses the queue; reads a schedule's next fire time, runs it now and follows
 * the run to its execution, pauses it; reads the workers registry (an idle worker listed, the live ones
 * counted); every page fits a 1280 px window; and the token gate refuses a wrong token.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { defineQueue, defineWorkflow, PermanentError, type ExecutionHandle } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { CHROMIUM_PATH, INSTALL_HINT, chromiumAvailability, launchChromium } from './helpers/chromium.js';
import { dashboardDir } from './helpers/dashboard-build.js';
import { HORIZONTAL_OVERFLOW } from './helpers/overflow.js';
import { screenshot, updateDocsScreenshot } from './helpers/screenshots.js';

const TOKEN = 'e2e-dashboard-token-0123456789';
const WAIT = { timeout: 15_000 };

/** Polls `check` until it holds (the dashboard refreshes every 2 s), failing after WAIT.timeout. */
async function until(check: () => Promise<boolean>, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + WAIT.timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The charge step fails PERMANENT on an execution's first run only: "the cause was fixed" before recovery. */
const failedOnce = new Set<string>();

const payment = defineWorkflow('e2e-payment', async (ctx, input: { order: number }) => {
  const reservation = await ctx.step('reserve', () => ({ reserved: input.order }));
  const charge = await ctx.step('charge', () => {
    if (!failedOnce.has(ctx.executionId)) {
      failedOnce.add(ctx.executionId);
      throw new PermanentError('card processor rejected the request: merchant account not configured');
    }
    return { charged: 42.5, currency: 'EUR' };
  });
  const shipment = await ctx.step('ship', () => ({ carrier: 'DHL', tracking: `TRK-${input.order}` }));
  return { reservation, charge, shipment };
});

const greeting = defineWorkflow('e2e-greeting', async (ctx, input: { name: string }) => {
  const text = await ctx.step('compose', () => `Hello, ${input.name}`);
  return ctx.step('send', () => ({ sent: text }));
});

/** An output far above the API's 16 KiB truncation limit, its end marked so "Show all" is observable. */
const report = defineWorkflow('e2e-report', async (ctx) =>
  ctx.step('render', () => ({
    rows: Array.from({ length: 1500 }, (_, i) => ({ line: i, text: `report line ${i} of the monthly statement` })),
    footer: 'END-OF-REPORT',
  })),
);

/** A saga: shipping fails after two compensable steps, which are undone in reverse order (PARTIAL). */
const saga = defineWorkflow('e2e-saga', async (ctx) => {
  await ctx.step('hold-seat', () => ({ seat: '14C' }), { compensate: () => undefined });
  await ctx.step('take-payment', () => ({ paid: 120 }), { compensate: () => undefined });
  await ctx.step('issue-ticket', () => {
    throw new PermanentError('ticketing system refused the booking');
  });
});

/** 120 steps: a journal longer than the API's first page (200 records), so the page offers "Load more". */
const batch = defineWorkflow('e2e-batch', async (ctx) => {
  let total = 0;
  for (let i = 0; i < 120; i++) total += await ctx.step(`item-${i}`, () => i);
  return total;
});

/** A human approval: it waits for the signal "approved" (a day at most), then uses its payload. */
const approval = defineWorkflow('e2e-approval', async (ctx, input: { request: string }) => {
  await ctx.step('ask', () => ({ asked: input.request }));
  const decision = await ctx.waitForSignal<{ by: string }>('approved', { timeoutMs: 86_400_000 });
  return ctx.step('fulfil', () => ({ fulfilled: input.request, approvedBy: decision.by }));
});

/** Asleep for an hour: SLEEPING for the whole test. */
const renewal = defineWorkflow('e2e-renewal', async (ctx) => {
  await ctx.step('notify', () => 'notified');
  await ctx.sleep('cool-off', 3_600_000);
  return ctx.step('renew', () => 'renewed');
});

const shipping = defineWorkflow('e2e-shipping', async (ctx, input: { order: number }) =>
  ctx.step('book', () => ({ booked: `PARCEL-${input.order}` })),
);

/** A parent that runs its shipping as a child workflow. */
const fulfilment = defineWorkflow('e2e-fulfilment', async (ctx, input: { order: number }) => {
  const parcel = await ctx.child('ship', shipping, { order: input.order });
  return ctx.step('close', () => ({ closed: input.order, parcel }));
});

/**
 * A saga whose failing step throws an error far above the API's preview limits (a long message without a
 * break, a long stack): pages show previews of it, and "Show all" on its page reads it whole.
 */
const verbose = defineWorkflow('e2e-verbose', async (ctx) => {
  await ctx.step('book', () => ({ booked: true }), { compensate: () => undefined });
  await ctx.step('call', () => {
    const err = new PermanentError(`upstream answered 500 with body ${'x'.repeat(3_000)} END-OF-MESSAGE`);
    err.stack = `PermanentError: upstream answered 500\n${'    at callUpstream (upstream.js:1:1)\n'.repeat(800)}`;
    throw err;
  });
});

/** Registered by no worker: it stays PENDING until cancelled. */
const parked = defineWorkflow('e2e-parked', async (ctx) => ctx.step('never', () => 1));

const availability = chromiumAvailability();

if (availability === 'missing-in-ci') {
  test('the dashboard e2e test needs Chromium', () => {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}; CI must install it (${INSTALL_HINT})`);
  });
}

const suite = availability === 'available' ? describe : describe.skip;

suite('dashboard', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = dashboardDir();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describeBackends('dashboard', (b) => {
    let server: ApiServer;
    let stopWorker: () => Promise<void>;
    let context: BrowserContext;
    let page: Page;
    const ids = { payment: '', report: '', parked: '', batch: '', saga: '', approval: '', renewal: '', fulfilment: '', verbose: '' };
    const keys = { payment: '', parked: '' };

    const settle = (h: ExecutionHandle<unknown>) => h.result({ timeoutMs: 20_000 }).catch(() => undefined);
    const goto = async (route: string) => {
      await page.goto(`${server.url}/#${route}`);
    };
    const testId = (id: string) => page.getByTestId(id);

    beforeAll(async () => {
      const worker = b.engine.worker({
        workflows: [payment, greeting, report, batch, saga, approval, renewal, shipping, fulfilment, verbose],
        pollIntervalMs: 25,
        schedulerIntervalMs: 0,
      });
      await worker.start();
      stopWorker = () => worker.stop();
      server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: dir, onError: () => {} });

      keys.payment = `order-${b.name}-1042`;
      keys.parked = `parked-${b.name}-7`;
      const greetings = await Promise.all(['Ada', 'Grace', 'Linus'].map((name) => b.engine.start(greeting, { name })));
      const pay = await b.engine.start(payment, { order: 1042 }, { idempotencyKey: keys.payment });
      const rep = await b.engine.start(report, {});
      const park = await b.engine.start(parked, {}, { idempotencyKey: keys.parked });
      const bat = await b.engine.start(batch, {});
      const sag = await b.engine.start(saga, {});
      const verb = await b.engine.start(verbose, {});
      ids.verbose = verb.id;
      ids.batch = bat.id;
      ids.saga = sag.id;
      ids.payment = pay.id;
      ids.report = rep.id;
      ids.parked = park.id;
      await Promise.all([...greetings, pay, rep, bat, sag, verb].map(settle));
      const [appr, ren, ful] = await Promise.all([
        b.engine.start(approval, { request: 'refund #88' }),
        b.engine.start(renewal, {}),
        b.engine.start(fulfilment, { order: 77 }),
      ]);
      ids.approval = appr.id;
      ids.renewal = ren.id;
      ids.fulfilment = ful.id;
      await settle(ful);
      const status = async (id: string) => (await b.engine.admin.readExecution(id))?.status;
      await until(async () => (await status(appr.id)) === 'WAITING' && (await status(ren.id)) === 'SLEEPING', 'the approval to wait and the renewal to sleep');

      context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      page = await context.newPage();
      // The token arrives in the fragment, is kept for the tab and leaves the address bar.
      await page.goto(`${server.url}/#token=${TOKEN}`);
      await testId('overview-page').waitFor(WAIT);
      expect(page.url()).not.toContain(TOKEN);
    });

    afterAll(async () => {
      await context?.close();
      await server?.close();
      await stopWorker?.();
    });

    test('without a token the dashboard asks for one and refuses a wrong one', async () => {
      const fresh = await browser.newContext();
      try {
        const p = await fresh.newPage();
        await p.goto(`${server.url}/`);
        await p.getByTestId('token-form').waitFor(WAIT);
        await p.getByTestId('token-input').fill('not-the-right-token-at-all');
        await p.getByTestId('token-submit').click();
        await p.getByTestId('token-error').waitFor(WAIT);
        expect(await p.getByTestId('token-error').textContent()).toContain('Wrong token');

        await p.getByTestId('token-input').fill(TOKEN);
        await p.getByTestId('token-submit').click();
        await p.getByTestId('overview-page').waitFor(WAIT);

        // A wrong token in the fragment: the form says the token was rejected.
        const other = await fresh.newPage();
        await other.goto(`${server.url}/#token=wrong-token-from-a-stale-link`);
        await other.getByTestId('token-error').waitFor(WAIT);
        expect(await other.getByTestId('token-error').textContent()).toContain('rejected');
      } finally {
        await fresh.close();
      }
    });

    test('the overview charts throughput and failures from the stats', async () => {
      await goto('/');
      const throughput = testId('throughput-chart');
      await until(async () => Number(await throughput.getAttribute('data-completed')) >= 4);
      expect(Number(await throughput.getAttribute('data-started'))).toBeGreaterThanOrEqual(6);
      expect(await throughput.locator('path[data-series=started]').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
      expect(await throughput.locator('circle[data-point=completed]').count()).toBeGreaterThan(0);

      const failures = testId('failure-chart');
      expect(Number(await failures.getAttribute('data-failures'))).toBeGreaterThanOrEqual(1);
      expect(await failures.locator('rect[data-failure-type=PERMANENT]').count()).toBeGreaterThan(0);
      expect(Number(await testId('count-PENDING').locator('.card-value').textContent())).toBeGreaterThanOrEqual(1);
      expect(Number(await testId('count-FAILED').locator('.card-value').textContent())).toBeGreaterThanOrEqual(1);
      await screenshot(page, b.name, 'overview');
    });

    test('the executions list is live, filters, and finds an execution by id or idempotency key', async () => {
      await goto('/executions');
      await page.locator(`[data-testid=execution-row][data-id="${ids.payment}"][data-status=FAILED]`).waitFor(WAIT);
      await screenshot(page, b.name, 'executions');

      // Live: an execution started now appears, completed, without a reload.
      const late = await b.engine.start(greeting, { name: 'Margaret' });
      await page.locator(`[data-testid=execution-row][data-id="${late.id}"][data-status=COMPLETED]`).waitFor(WAIT);

      const rows = page.getByTestId('execution-row');
      await testId('filter-status').selectOption('FAILED');
      await until(async () => (await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')))).join() === ids.payment);

      await testId('filter-status').selectOption('');
      await testId('filter-workflow').selectOption('e2e-greeting');
      await until(async () => {
        const texts = await rows.evaluateAll((rs) => rs.map((r) => r.textContent ?? ''));
        return texts.length === 4 && texts.every((t) => t.includes('e2e-greeting'));
      }, 'the four greetings');

      await testId('filter-workflow').selectOption('');
      await testId('filter-created-after').fill('2099-01-01T00:00:00');
      await testId('executions-empty').waitFor(WAIT);
      await testId('filter-clear').click();

      // Cursor pages: 10 rows, then the older rest, then back (12 executions by now).
      await Promise.all(['Alan', 'Barbara', 'Edsger'].map((name) => b.engine.start(greeting, { name })));
      await testId('page-size').selectOption('10');
      await until(async () => (await rows.count()) === 10, 'a page of 10');
      const firstPage = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')));
      await testId('pager-older').click();
      await until(async () => (await rows.count()) > 0 && (await rows.first().getAttribute('data-id')) !== firstPage[0], 'the older page');
      const olderPage = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')));
      expect(olderPage.filter((id) => firstPage.includes(id))).toEqual([]);
      await testId('pager-newer').click();
      await until(async () => (await rows.first().getAttribute('data-id')) === firstPage[0], 'the first page again');
      await testId('page-size').selectOption('25');

      for (const term of [ids.parked, keys.payment]) {
        await testId('search-input').fill(term);
        await testId('search-button').click();
        await until(async () => (await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')))).join() === (term === ids.parked ? ids.parked : ids.payment));
      }
      expect(await rows.first().getAttribute('data-id')).toBe(ids.payment);
      expect(await rows.first().textContent()).toContain(keys.payment);
    });

    test('the failures view groups failures and links to the execution', async () => {
      await goto('/failures');
      const group = page.locator('[data-testid=failure-group][data-workflow=e2e-payment][data-type=PERMANENT]');
      await group.waitFor(WAIT);
      expect(await group.getByTestId('group-unrecovered').textContent()).toBe('1');
      const row = page.locator(`[data-testid=failures-table] [data-testid=failure-row][data-execution="${ids.payment}"]`);
      await row.waitFor(WAIT);
      expect(await row.textContent()).toContain('merchant account not configured');
      await screenshot(page, b.name, 'failures');
      await row.getByTestId('failure-execution-link').click();
      await page.locator(`[data-testid=execution-page][data-status=FAILED]`).waitFor(WAIT);
    });

    test('the operator recovers the FAILED execution from its page and it completes', async () => {
      await goto(`/executions/${ids.payment}`);
      await testId('execution-status').and(page.locator('[data-status=FAILED]')).waitFor(WAIT);
      expect(await testId('idempotency-key').textContent()).toBe(keys.payment);
      const charge = page.locator('[data-testid=step-row][data-step=charge]');
      expect(await charge.getAttribute('data-status')).toBe('ROLLED_BACK');
      expect(await charge.getByTestId('step-failure-marker').count()).toBe(1);

      await testId('action-recover').click();
      await testId('confirm-dialog').waitFor(WAIT);
      await testId('confirm-button').click();
      await page.locator('[data-testid=action-result][data-kind=ok]').waitFor(WAIT);
      await testId('execution-status').and(page.locator('[data-status=COMPLETED]')).waitFor(WAIT);

      await page.locator('[data-testid=step-row][data-step=ship][data-status=COMPLETED]').waitFor(WAIT);
      await page.locator('[data-testid=execution-failures] [data-testid=failure-recovered][data-recovered=true]').waitFor(WAIT);
      const kinds = await page.getByTestId('journal-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')));
      expect(kinds[0]).toBe('execution_started');
      expect(kinds).toContain('step_failed');
      expect(kinds[kinds.length - 1]).toBe('execution_completed');
      expect(await page.locator('[data-testid=journal-table] .flag-bad').count()).toBe(0);
      expect(await testId('execution-output').textContent()).toContain('TRK-1042');

      const shot = await screenshot(page, b.name, 'execution');
      if (b.name === 'pglite') updateDocsScreenshot(await screenshot(page, b.name, 'execution-viewport', { fullPage: false }));
      expect(shot).toBeTruthy();
    });

    test('an action the server refuses shows its error code; cancel asks first, then cancels', async () => {
      await goto(`/executions/${ids.parked}`);
      await testId('execution-status').and(page.locator('[data-status=PENDING]')).waitFor(WAIT);

      await testId('action-recover').click();
      await testId('confirm-button').click();
      const refused = page.locator('[data-testid=action-result][data-kind=error]');
      await refused.waitFor(WAIT);
      expect(await refused.getAttribute('data-code')).toMatch(/^[A-Z_]+$/);

      await testId('action-cancel').click();
      await testId('confirm-dialog').waitFor(WAIT);
      await testId('confirm-dismiss').click(); // going back does nothing
      expect(await testId('confirm-dialog').count()).toBe(0);
      expect(await testId('execution-status').getAttribute('data-status')).toBe('PENDING');

      await testId('action-cancel').click();
      await testId('cancel-reason').fill('customer withdrew the order');
      await testId('confirm-button').click();
      await page.locator('[data-testid=action-result][data-kind=ok]').waitFor(WAIT);
      await testId('execution-status').and(page.locator('[data-status=CANCELLED]')).waitFor(WAIT);
      expect(await testId('action-cancel').isDisabled()).toBe(true);
    });

    test('a large payload arrives truncated and "Show all" fetches it whole', async () => {
      await goto(`/executions/${ids.report}`);
      const output = testId('execution-output');
      await output.and(page.locator('[data-truncated=true]')).waitFor(WAIT);
      expect(await output.textContent()).not.toContain('END-OF-REPORT');
      await output.getByTestId('show-all').click();
      await output.and(page.locator('[data-truncated=false]')).waitFor(WAIT);
      expect(await output.textContent()).toContain('END-OF-REPORT');
      expect(page.url()).toContain('full=true');
    });

    test('a compensated execution lists its compensations in the order they ran', async () => {
      await goto(`/executions/${ids.saga}`);
      await testId('execution-status').and(page.locator('[data-status=COMPENSATED]')).waitFor(WAIT);
      const order = await page.getByTestId('compensation-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-step')));
      expect(order).toEqual(['take-payment', 'hold-seat']);
      expect(await page.locator('[data-testid=compensation-row] [data-status=COMPLETED]').count()).toBe(2);
      expect(await page.locator('[data-testid=execution-failures] [data-failure-type=PARTIAL]').count()).toBe(1);
      // Each row shows its step's completion and, under its own header, its compensation's (later, and in run order).
      const detail = (await b.engine.admin.getExecution(ids.saga))!;
      const step = (key: string) => detail.steps.find((s) => s.key === key)!;
      const cells = await page.getByTestId('compensation-row').evaluateAll((rs) =>
        rs.map((r) => [r.querySelector('[data-testid=compensation-step-completed]')!.textContent, r.querySelector('[data-testid=compensation-completed]')!.textContent]),
      );
      expect(cells.every(([done, undone]) => done !== undone && undone !== '—')).toBe(true);
      expect(step('take-payment').compensatedAt!.getTime()).toBeLessThanOrEqual(step('hold-seat').compensatedAt!.getTime());
      // The failed step's bar ends at its step_failed record, not at the failure row recorded after it.
      const { records } = await b.engine.admin.readJournal(ids.saga);
      const failedAt = records.filter((r) => r.kind === 'step_failed' && r.stepKey === 'issue-ticket').at(-1)!.createdAt;
      const bar = page.locator('[data-testid=step-row][data-step=issue-ticket] [data-testid=step-bar]');
      expect(await bar.getAttribute('data-end')).toBe(failedAt.toISOString());
      expect(Date.parse((await bar.getAttribute('data-start'))!)).toBeLessThan(failedAt.getTime());
      await screenshot(page, b.name, 'execution-compensated');
    });

    test('a long error is a preview on the list and on its page; "Show all" reads it whole', async () => {
      await goto('/executions');
      const listed = page.locator(`[data-testid=execution-row][data-id="${ids.verbose}"] td.error-text`);
      await listed.waitFor(WAIT);
      expect(await listed.getAttribute('title')).toMatch(/^upstream answered 500 with body x+…$/);
      await goto(`/executions/${ids.verbose}`);
      const error = testId('execution-error');
      await error.getByTestId('error-truncated').waitFor(WAIT);
      expect(await error.textContent()).not.toContain('END-OF-MESSAGE');
      await error.getByTestId('show-all').click();
      await until(async () => (await error.textContent())?.includes('END-OF-MESSAGE') ?? false, 'the whole error');
      expect(await error.getByTestId('error-truncated').count()).toBe(0);
      expect(page.url()).toContain('full=true');
    });

    test('a journal longer than one page loads more', async () => {
      await goto(`/executions/${ids.batch}`);
      const rows = page.getByTestId('journal-row');
      await testId('journal-load-more').waitFor(WAIT);
      const first = await rows.count();
      expect(first).toBe(200);
      await testId('journal-load-more').click();
      await until(async () => (await rows.count()) > first, 'the next journal page');
      expect(await rows.last().getAttribute('data-kind')).toBe('execution_completed');
      expect(await testId('journal-load-more').count()).toBe(0);
    });

    test('a sleep shows until when; a signal wait shows for what and since when, and sends its signal from the page', async () => {
      const renewalDetail = (await b.engine.admin.getExecution(ids.renewal))!;
      const nap = renewalDetail.steps.find((s) => s.key === 'cool-off')!;
      await goto(`/executions/${ids.renewal}`);
      await testId('execution-status').and(page.locator('[data-status=SLEEPING]')).waitFor(WAIT);
      const sleepRow = page.locator('[data-testid=step-wait][data-step=cool-off][data-kind=sleep][data-open=true]');
      await sleepRow.waitFor(WAIT);
      expect(await sleepRow.textContent()).toContain('Sleeping until');
      expect(await sleepRow.getByTestId('wait-until').getAttribute('data-at')).toBe(nap.wait!.until!.toISOString());
      expect(await page.locator('[data-testid=step-row][data-step=cool-off] [data-testid=step-duration]').textContent()).toBe('sleeping');
      expect(await page.locator('[data-testid=step-row][data-step=cool-off]').getAttribute('data-status')).toBe('WAITING');
      expect(await sleepRow.getByTestId('send-signal').count()).toBe(0); // a sleep takes no signal

      const waiting = (await b.engine.admin.getExecution(ids.approval))!.steps.find((s) => s.key === 'signal:approved:1')!;
      await goto(`/executions/${ids.approval}`);
      await testId('execution-status').and(page.locator('[data-status=WAITING]')).waitFor(WAIT);
      const signalRow = page.locator('[data-testid=step-wait][data-step="signal:approved:1"][data-kind=signal][data-open=true]');
      await signalRow.waitFor(WAIT);
      expect(await signalRow.getByTestId('wait-signal').textContent()).toBe('approved');
      expect(await signalRow.getByTestId('wait-since').getAttribute('data-at')).toBe(waiting.wait!.since.toISOString());
      expect(await signalRow.getByTestId('wait-timeout').textContent()).toContain('times out');
      expect(await testId('mailbox-panel').textContent()).toContain('No signals sent.');
      await screenshot(page, b.name, 'execution-waiting');

      // The form starts with the awaited name; a payload that is not JSON is refused before anything is sent.
      await signalRow.getByTestId('send-signal').click();
      await testId('confirm-dialog').waitFor(WAIT);
      expect(await testId('signal-name').inputValue()).toBe('approved');
      await testId('signal-payload').fill('{"by": ana}');
      await testId('confirm-button').click();
      await testId('signal-invalid').waitFor(WAIT);
      expect((await b.engine.admin.getExecution(ids.approval))!.signals).toEqual([]);
      await testId('signal-payload').fill('{"by": "ana"}');
      await testId('signal-idempotency-key').fill('approval-88');
      await testId('confirm-button').click();
      await page.locator('[data-testid=signal-result][data-kind=ok]').waitFor(WAIT);

      // The wait takes it: the execution completes with the payload, the mailbox says which wait consumed it.
      await testId('execution-status').and(page.locator('[data-status=COMPLETED]')).waitFor(WAIT);
      await page.locator('[data-testid=mailbox-row][data-name=approved][data-consumed-by="signal:approved:1"]').waitFor(WAIT);
      await page.locator('[data-testid=step-wait][data-step="signal:approved:1"][data-open=false] [data-testid=wait-ended][data-how=received]').waitFor(WAIT);
      expect(await testId('execution-output').textContent()).toContain('"approvedBy": "ana"');
      expect(await testId('send-signal').isDisabled()).toBe(true); // the mailbox of a finished execution is closed
      const [sent] = (await b.engine.admin.getExecution(ids.approval))!.signals;
      expect(sent).toMatchObject({ name: 'approved', payload: { by: 'ana' }, idempotencyKey: 'approval-88', consumedBy: 'signal:approved:1' });
    });

    test('a parent links to its child and the child to its parent', async () => {
      const [child] = (await b.engine.admin.getExecution(ids.fulfilment))!.children;
      expect(child).toMatchObject({ workflow: 'e2e-shipping', stepKey: 'ship', status: 'COMPLETED' });
      await goto(`/executions/${ids.fulfilment}`);
      await testId('execution-status').and(page.locator('[data-status=COMPLETED]')).waitFor(WAIT);
      const childWait = page.locator('[data-testid=step-wait][data-step=ship][data-kind=child]');
      await childWait.waitFor(WAIT);
      expect(await childWait.getByTestId('wait-child-link').getAttribute('data-id')).toBe(child!.id);
      expect(await childWait.getByTestId('wait-child-status').getAttribute('data-status')).toBe('COMPLETED');
      const row = page.locator(`[data-testid=children-panel] [data-testid=child-row][data-id="${child!.id}"]`);
      await row.waitFor(WAIT);
      expect(await row.textContent()).toContain('e2e-shipping');
      await screenshot(page, b.name, 'execution-parent');

      await row.getByTestId('child-link').click();
      await testId('execution-id').and(page.getByText(child!.id)).waitFor(WAIT);
      const parentLink = testId('parent-link');
      await parentLink.waitFor(WAIT);
      expect(await parentLink.getAttribute('data-id')).toBe(ids.fulfilment);
      expect(await testId('parent').textContent()).toContain('ship');
      expect(await testId('execution-output').textContent()).toContain('PARCEL-77');
      await parentLink.click();
      await testId('execution-id').and(page.getByText(ids.fulfilment)).waitFor(WAIT);
      expect(await testId('parent-link').count()).toBe(0);
      await childWait.getByTestId('wait-child-link').click();
      await testId('parent-link').waitFor(WAIT);
      expect(page.url()).toContain(child!.id);
    });

    test('the SLEEPING and WAITING cards count what the database holds', async () => {
      const another = await b.engine.start(approval, { request: 'refund #89' });
      await goto('/');
      const card = (status: string) => testId(`count-${status}`).locator('.card-value');
      await until(async () => {
        const { statusCounts } = await b.engine.admin.activeCounts();
        const shown = await Promise.all(['SLEEPING', 'WAITING'].map(async (s) => Number(await card(s).textContent())));
        return (statusCounts.SLEEPING ?? 0) >= 1 && (statusCounts.WAITING ?? 0) >= 1 && shown[0] === statusCounts.SLEEPING && shown[1] === statusCounts.WAITING;
      }, 'the cards to show the database counts');
      await testId('count-WAITING').click();
      await page.locator(`[data-testid=execution-row][data-id="${another.id}"][data-status=WAITING]`).waitFor(WAIT);
      await b.engine.signal(another.id, 'approved', { by: 'grace' });
      await settle(another);
    });

    test("the queues page shows a queue's depth and limits; an operator changes a limit and pauses it through the dialogs", async () => {
      const orders = defineQueue(`e2e-orders-${b.name}`, { concurrency: 3, rateLimit: { limit: 20, periodMs: 60_000 } });
      const held = defineWorkflow('e2e-held', { queue: orders }, async (ctx) => ctx.step('never', () => 1)); // no worker runs it
      await b.engine.start(held, {});
      await b.engine.start(held, {}, { queueKey: 'customer-9' });
      await page.getByTestId('nav-queues').click();
      const row = page.locator(`[data-testid=queue-row][data-queue="${orders.name}"]`);
      await row.waitFor(WAIT);
      await until(async () => (await row.getByTestId('queue-pending').textContent()) === '2', 'the queue to show two due executions');
      expect(await row.getByTestId('queue-concurrency').textContent()).toBe('3');
      expect(await row.getByTestId('queue-key-concurrency').textContent()).toBe('∞');
      expect(await row.getByTestId('queue-rate').textContent()).toContain('0 / 20 per');
      await screenshot(page, b.name, 'queues');

      // A value that is no limit is refused in the dialog; nothing is sent.
      await row.getByTestId('queue-edit').click();
      await testId('limit-concurrency').fill('0');
      await testId('confirm-button').click();
      await testId('limit-problem').waitFor(WAIT);
      expect((await b.engine.admin.getQueue(orders.name))?.concurrency).toBe(3);
      await testId('limit-concurrency').fill('8');
      await testId('limit-keyConcurrency').fill('1');
      await testId('confirm-button').click();
      await testId('action-result').and(page.locator('[data-kind=ok]')).waitFor(WAIT);
      await until(async () => (await row.getByTestId('queue-concurrency').textContent()) === '8', 'the new limit on the page');
      expect(await row.getByTestId('queue-key-concurrency').textContent()).toBe('1');
      expect(await b.engine.admin.getQueue(orders.name)).toMatchObject({ concurrency: 8, keyConcurrency: 1, rateLimit: { limit: 20, periodMs: 60_000 }, source: 'operator' });

      await row.getByTestId('queue-pause').click();
      await testId('confirm-dialog').waitFor(WAIT);
      await testId('confirm-button').click();
      await row.getByTestId('queue-paused').waitFor(WAIT);
      expect((await b.engine.admin.getQueue(orders.name))?.paused).toBe(true);
    });

    test("the schedules page shows a schedule's cron and next fire time; Run now links its execution; Pause pauses it", async () => {
      const name = `e2e-nightly-${b.name}`;
      const { nextFireAt } = await b.engine.schedule(name, { cron: '0 3 * * *', timezone: 'Europe/Berlin', workflow: greeting, input: { name: 'Margaret' } });
      await page.getByTestId('nav-schedules').click();
      const row = page.locator(`[data-testid=schedule-row][data-schedule="${name}"]`);
      await row.waitFor(WAIT);
      expect(await row.getByTestId('schedule-cron').textContent()).toBe('0 3 * * *');
      expect(await row.textContent()).toContain('Europe/Berlin');
      expect(new Date((await row.getByTestId('schedule-next-fire').getAttribute('data-next-fire'))!).getTime()).toBe(nextFireAt.getTime());
      expect(await page.locator('[data-testid=schedule-row][data-schedule="aries.auto-recover"]').count()).toBe(1);

      await row.getByTestId('schedule-trigger').click();
      await testId('confirm-button').click();
      await testId('action-result').and(page.locator('[data-kind=ok]')).waitFor(WAIT);
      const link = row.getByTestId('schedule-slot-execution');
      await link.waitFor(WAIT);
      const [slot] = (await b.engine.admin.getSchedule(name)).slots;
      expect(slot).toMatchObject({ status: 'manual', executionId: expect.any(String) });
      await settle(b.engine.handle(slot!.executionId!));
      await row.locator('[data-testid=schedule-slot][data-status=manual] [data-status=COMPLETED]').waitFor(WAIT);
      await screenshot(page, b.name, 'schedules');

      await row.getByTestId('schedule-pause').click();
      await testId('confirm-dialog').waitFor(WAIT);
      await testId('confirm-button').click();
      await row.getByTestId('schedule-paused').waitFor(WAIT);
      expect(await row.getByTestId('schedule-pause').textContent()).toBe('Resume');
      expect((await b.engine.admin.getSchedule(name)).paused).toBe(true);
      await link.click();
      await testId('execution-id').and(page.getByText(slot!.executionId!)).waitFor(WAIT);
    });

    test('the workers view lists every registered worker, an idle one too, and the Workers card counts the live ones', async () => {
      const idle = b.engine.worker({ workflows: [parked], concurrency: 3, schedulerIntervalMs: 0 });
      await idle.start();
      try {
        await goto('/workers');
        const row = page.locator(`[data-testid=worker-row][data-worker="${idle.id}"]`);
        await row.waitFor(WAIT);
        expect(await row.getAttribute('data-status')).toBe('live');
        expect(await row.getByTestId('worker-workflows').textContent()).toBe(parked.key);
        expect(await row.getByTestId('worker-concurrency').textContent()).toBe('3');
        expect(await row.getByTestId('worker-leases').textContent()).toBe('0');
        expect(await row.getByTestId('worker-heartbeat').textContent()).not.toBe('—');
        await screenshot(page, b.name, 'workers');
        const live = (await b.engine.admin.listWorkers()).filter((w) => w.status === 'live').length;
        expect(live).toBeGreaterThanOrEqual(2);
        await goto('/');
        await until(async () => (await testId('worker-count').locator('.card-value').textContent()) === String(live), 'the Workers card to count the live workers');
      } finally {
        await idle.stop();
      }
      await goto('/workers');
      await page.locator(`[data-testid=worker-row][data-worker="${idle.id}"][data-status=stopped]`).waitFor(WAIT);
    });

    test('every page fits a 1280 px window: no horizontal overflow, no cell cut', async () => {
      // Each route with what shows its data has arrived (the page's own rows, not the previous page's).
      const routes: [string, string][] = [
        ['/', '[data-testid=overview-page] [data-testid=recent-executions] tbody tr'],
        ['/executions', '[data-testid=executions-page] [data-testid=execution-row]'],
        ['/failures', '[data-testid=failures-page] [data-testid=failure-row]'],
        ['/queues', '[data-testid=queues-page] tbody tr'],
        ['/schedules', '[data-testid=schedules-page] [data-testid=schedule-row]'],
        ['/workers', '[data-testid=workers-page] [data-testid=worker-row]'],
        ...Object.values(ids).map((id): [string, string] => [`/executions/${id}`, `[data-testid=execution-page] [data-testid=execution-id]:text("${id}")`]),
      ];
      await page.setViewportSize({ width: 1280, height: 900 });
      const cut: Record<string, string[]> = {};
      try {
        for (const [route, loaded] of routes) {
          await goto(route);
          await page.locator(loaded).first().waitFor(WAIT);
          await until(async () => (await page.getByText('Loading…').count()) === 0, `${route} to load`);
          const problems = await page.evaluate<string[]>(HORIZONTAL_OVERFLOW);
          if (problems.length > 0) cut[route] = problems;
        }
        expect(cut).toEqual({});
      } finally {
        await page.setViewportSize({ width: 1440, height: 900 });
      }
    });
  });
});
