/**
 * Long errors and cancel reasons in the HTTP API, on both backends: list pages (executions, failures)
 * carry previews of them, as they carry no payloads, so a page's size stays bounded whatever was stored
 * (a message of 4,096 characters, a 16 KiB stack, 60 KiB of details); the execution page previews an error
 * above the payload limit, and with ?full=true carries it whole.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { defineWorkflow, PermanentError, type Worker } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { expectSchema } from '../helpers/openapi-schema.js';

const TOKEN = 'error-previews-token-0123456789';
const ROWS = 12;

class HugeError extends PermanentError {
  override readonly details = { body: 'd'.repeat(60_000) };
  constructor(i: number) {
    super(`upstream answered 500 for order ${i}: ${'m'.repeat(5_000)}`);
    this.stack = `HugeError: upstream\n${'    at somewhere (file.js:1:1)\n'.repeat(600)}`;
  }
}

const huge = defineWorkflow('preview-huge', async (ctx, input: { i: number }) =>
  ctx.step('call', () => {
    throw new HugeError(input.i);
  }),
);
const parked = defineWorkflow('preview-parked', async (ctx) => ctx.step('never', () => 1));

describeBackends('error previews', (b) => {
  let server: ApiServer;
  let worker: Worker;
  const failed: string[] = [];
  let cancelled = '';
  const reason = `the customer withdrew: ${'r'.repeat(4_000)}`;

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    return { bytes: Buffer.byteLength(text), json: JSON.parse(text) as any };
  };

  beforeAll(async () => {
    server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: false, onError: () => {} });
    worker = b.engine.worker({ workflows: [huge], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await worker.start();
    for (let i = 0; i < ROWS; i++) {
      const h = await b.engine.start(huge, { i });
      failed.push(h.id);
    }
    for (const id of failed) await b.engine.handle(id).result({ timeoutMs: 30_000 }).catch(() => undefined);
    const p = await b.engine.start(parked, {});
    await b.engine.admin.cancel(p.id, reason);
    cancelled = p.id;
  });

  afterAll(async () => {
    await worker?.stop();
    await server?.close();
  });

  test('what was stored is whole: a 4,096-character message, its stack and details', async () => {
    const detail = (await b.engine.admin.getExecution(failed[0]!))!;
    expect(detail.execution.error!.message.length).toBeGreaterThan(4_000);
    expect(String(detail.execution.error!.stack).length).toBeGreaterThan(15_000);
  });

  test('a list page of executions with long errors carries previews: bounded, whatever was stored', async () => {
    const page = await get(`/api/executions?workflow=preview-huge&limit=${ROWS}`);
    expectSchema('ExecutionPage', page.json);
    expect(page.json.executions).toHaveLength(ROWS);
    for (const e of page.json.executions) {
      expect(e.error).toMatchObject({ name: 'HugeError', $truncated: true, bytes: expect.any(Number) });
      expect(e.error.bytes).toBeGreaterThan(80_000);
      expect(e.error.message).toMatch(/^upstream answered 500 for order \d+: m+$/);
      expect(e.error.message).toHaveLength(512);
      expect(e.error.stack).toBeUndefined();
      expect(e.error.details).toBeUndefined();
    }
    // Each row carries its preview (≤ 1.5 KiB of JSON), not the ~85 KB stored.
    expect(page.bytes).toBeLessThan(ROWS * 1_536);

    const withCancel = await get(`/api/executions?search=${cancelled}`);
    expect(withCancel.json.executions[0].error).toMatchObject({ name: 'CancelledError', $truncated: true });
    expect(withCancel.json.executions[0].error.message).toBe(reason.slice(0, 512));
  });

  test('a list page of failures carries previews: the message cut, no stack nor details', async () => {
    const page = await get(`/api/failures?workflow=preview-huge&limit=${ROWS}`);
    expectSchema('FailurePage', page.json);
    expect(page.json.failures).toHaveLength(ROWS);
    for (const f of page.json.failures) {
      expect(f).toMatchObject({ truncated: true, stack: null, details: null, errorClass: 'HugeError' });
      expect(f.message).toHaveLength(512);
    }
    expect(page.bytes).toBeLessThan(ROWS * 1_536);
  });

  test('the execution page previews an error above the payload limit; ?full=true carries it whole', async () => {
    const id = failed[0]!;
    const preview = await get(`/api/executions/${id}`);
    expectSchema('ExecutionDetail', preview.json);
    expect(preview.json.execution.error).toMatchObject({ name: 'HugeError', $truncated: true });
    const step = preview.json.steps.find((s: any) => s.key === 'call');
    expect(step.error).toMatchObject({ name: 'HugeError', $truncated: true });
    expect(preview.json.failures[0]).toMatchObject({ truncated: true, stack: null });
    expect(preview.bytes).toBeLessThan(64 * 1024);

    const full = await get(`/api/executions/${id}?full=true`);
    expectSchema('ExecutionDetail', full.json);
    expect(full.json.execution.error.$truncated).toBeUndefined();
    expect(full.json.execution.error.message.length).toBeGreaterThan(4_000);
    expect(full.json.execution.error.stack.length).toBeGreaterThan(15_000);
    expect(full.json.steps.find((s: any) => s.key === 'call').error.details).toEqual({ body: 'd'.repeat(60_000) });
    expect(full.json.failures[0]).toMatchObject({ truncated: false, stack: expect.stringContaining('HugeError') });

    // A short error is never cut: a cancel reason under the limit comes whole on the list page.
    const short = await b.engine.start(parked, {});
    await b.engine.admin.cancel(short.id, 'no longer needed');
    const listed = await get(`/api/executions?search=${short.id}`);
    expect(listed.json.executions[0].error).toMatchObject({ name: 'CancelledError', message: 'no longer needed' });
    expect(listed.json.executions[0].error.$truncated).toBeUndefined();
  });
});
