import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  aesGcmCodec,
  CodecRequiredError,
  createEngine,
  defineWorkflow,
  ExecutionCompensatedError,
  ExecutionFailedError,
  IdempotencyConflictError,
  PayloadDecodeError,
  PermanentError,
  type Engine,
  type EngineOptions,
  type Workflow,
} from '../../src/index.js';
import { startApiServer } from '../../src/server/api-server.js';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { tablesContaining } from '../helpers/database-scan.js';
import { createTestDatabase } from '../helpers/server.js';

/**
 * The payload codec end to end, on each backend: with aesGcmCodec, a marker secret in every kind of
 * payload (input, output, step output, signal payload, child input and output, a compensation's result, a
 * schedule's input, stored errors) reaches no aries table, while the SDK returns the decoded values; key
 * rotation keeps old executions readable and resumable; a missing key, a tampered payload and a worker
 * without the codec fail with errors that say so. One store per backend, opened by several engines in
 * turn (the embedded one in a data dir, so that it outlives an engine).
 */
const MARKER = 'marker-4111-1111-1111-1111';
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const fast = { initialDelayMs: 10, maxDelayMs: 20, jitter: 'none' } as const;

const payment = defineWorkflow('codec-payment', async (_ctx, input: { card: string }) => ({ paid: `${input.card}:paid` }));

let transientOnce = true;
const order = defineWorkflow('codec-order', { retry: { ...fast, maxAttempts: 3 } }, async (ctx, input: { card: string }) => {
  const charged = await ctx.step('charge', ({ attempt }) => {
    if (attempt === 1 && transientOnce) throw Object.assign(new Error(`gateway reset while charging ${input.card}`), { code: 'ECONNRESET' });
    return { token: `tok-${input.card}` };
  });
  const child = await ctx.child('pay', payment, { card: input.card });
  const approval = await ctx.waitForSignal<{ note: string }>('approve');
  return { charged, child, note: approval.note };
});

const saga = defineWorkflow('codec-saga', { retry: fast }, async (ctx, input: { card: string }) => {
  await ctx.step('reserve', () => ({ hold: input.card }), { compensate: (r) => ({ released: r.hold }) });
  await ctx.step('ship', () => {
    throw Object.assign(new PermanentError(`courier refused card ${input.card}`), { details: { card: input.card } });
  });
});

const failing = defineWorkflow('codec-failing', async (ctx, input: { card: string }) => {
  await ctx.step('check', () => {
    throw new PermanentError(`card ${input.card} declined`);
  });
});

const WORKFLOWS: Workflow<any, any>[] = [payment, order, saga, failing];

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`payload codec [${backend}]`, () => {
    let connection: EngineOptions = {};
    let cleanup: () => Promise<void> = async () => {};
    let engine: Engine | undefined;
    let waitingId = '';
    let sagaId = '';
    let plainId = '';

    beforeAll(async () => {
      if (backend === 'pglite') {
        const dir = mkdtempSync(join(tmpdir(), 'aries-codec-'));
        connection = { dataDir: join(dir, 'data') };
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const db = await createTestDatabase('payload codec');
        connection = { databaseUrl: db.url };
        cleanup = db.drop;
      }
    });
    afterAll(async () => {
      await engine?.close();
      await cleanup();
    });

    /** Closes the engine open before, and opens one on the same store with these options. */
    async function reopen(options: EngineOptions): Promise<Engine> {
      await engine?.close();
      engine = await createEngine({ ...connection, ...options, onError: () => {} });
      return engine;
    }
    const worker = (e: Engine) => e.worker({ workflows: WORKFLOWS, pollIntervalMs: 20, schedulerIntervalMs: 0 });
    const codecV1 = () => aesGcmCodec({ keys: { k1 }, current: 'k1' });
    const codecV2 = () => aesGcmCodec({ keys: { k1, k2 }, current: 'k2' });

    test('with aesGcmCodec the marker reaches no table, and the SDK returns every payload decoded', async () => {
      const e = await reopen({ codec: codecV1() });
      const w = worker(e);
      await w.start();
      try {
        // a full run: a retried step, a child, a signal, the output
        const h = await e.start(order, { card: MARKER });
        await until(async () => (await e.admin.readExecution(h.id))?.status === 'WAITING');
        await e.signal(h.id, 'approve', { note: `ok ${MARKER}` });
        const output = await h.result({ timeoutMs: 20_000 });
        expect(output).toEqual({ charged: { token: `tok-${MARKER}` }, child: { paid: `${MARKER}:paid` }, note: `ok ${MARKER}` });

        // a compensated saga (its compensation's result and its error), a failed run, a schedule's input
        const s = await e.start(saga, { card: MARKER });
        await expect(s.result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
        sagaId = s.id;
        const f = await e.start(failing, { card: MARKER });
        const failed = await f.result({ timeoutMs: 20_000 }).catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(ExecutionFailedError);
        expect((failed as ExecutionFailedError).message).toContain(`card ${MARKER} declined`);
        await e.schedule('codec-nightly', { cron: '0 3 1 1 *', timezone: 'UTC', workflow: failing, input: { card: MARKER } });
        expect((await e.admin.getSchedule('codec-nightly')).input).toEqual({ card: MARKER });

        // one left waiting for its signal, for the rotation below
        const waiting = await e.start(order, { card: `${MARKER}-2` });
        waitingId = waiting.id;
        await until(async () => (await e.admin.readExecution(waiting.id))?.status === 'WAITING');
      } finally {
        await w.stop();
      }

      expect(await tablesContaining(e.db, MARKER)).toEqual({});
      // what SQL sees of an encoded error: its name and classification, a placeholder for its message
      const messages = await e.db.query<{ failure_message: string; error_class: string; stack: string | null }>(
        `SELECT DISTINCT failure_message, error_class, stack FROM aries.failures`,
      );
      expect(messages.every((m) => m.failure_message === '[encoded: a reader with the codec decodes it]' && m.stack === null)).toBe(true);
      expect(Object.keys(await tablesContaining(e.db, '"aes-256-gcm"')).sort()).toEqual(
        expect.arrayContaining(['executions', 'failures', 'journal', 'schedules', 'signals', 'steps']),
      );

      // the SDK (and so the API, the CLI, the dashboard) reads them decoded
      const { executions } = await e.admin.listExecutions({ workflow: 'codec-order' });
      const done = executions.find((x) => x.status === 'COMPLETED')!;
      const detail = (await e.admin.getExecution(done.id))!;
      expect(detail.execution.input).toEqual({ card: MARKER });
      expect(detail.steps.find((st) => st.key === 'charge')!.output).toEqual({ token: `tok-${MARKER}` });
      expect(detail.signals[0]!.payload).toEqual({ note: `ok ${MARKER}` });
      const journal = JSON.stringify((await e.admin.readJournal(done.id)).records.map((r) => r.payload));
      expect(journal).toContain(`tok-${MARKER}`);
      expect(journal).toContain(`gateway reset while charging ${MARKER}`);
      const [retried] = (await e.admin.listFailures({ executionId: done.id })).failures;
      expect(retried).toMatchObject({ type: 'TRANSIENT', message: `gateway reset while charging ${MARKER}`, errorClass: 'Error' });
      expect(retried!.stack).toContain('payload-codec.test.ts');

      const sagaDetail = (await e.admin.getExecution(sagaId))!;
      expect(sagaDetail.execution.error).toMatchObject({ name: 'PermanentError', message: `courier refused card ${MARKER}`, details: { card: MARKER } });
      const sagaJournal = (await e.admin.readJournal(sagaId)).records;
      expect(sagaJournal.find((r) => r.kind === 'compensation_completed')!.payload).toEqual({ released: MARKER });
      const [sagaFailure] = (await e.admin.listFailures({ executionId: sagaId })).failures;
      expect(sagaFailure).toMatchObject({ type: 'PARTIAL', message: `courier refused card ${MARKER}`, details: { card: MARKER } });

      // the HTTP API (and the dashboard, which reads it) answers decoded
      const token = 'codec-test-token-0123456789';
      const server = await startApiServer({ engine: e, port: 0, token, dashboardDir: false });
      try {
        const res = await fetch(`${server.url}/api/executions/${done.id}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        const body = await res.text();
        expect(body).toContain(`tok-${MARKER}`);
        expect(body).not.toContain('aes-256-gcm');
      } finally {
        await server.close();
      }
    });

    test('key rotation: new payloads are sealed with the new key; executions sealed with the old one read and resume', async () => {
      const e = await reopen({ codec: codecV2() });
      expect((await e.admin.getExecution(sagaId))!.execution.input).toEqual({ card: MARKER });
      const w = worker(e);
      await w.start();
      try {
        await e.signal(waitingId, 'approve', { note: `late ${MARKER}` });
        // resumed: the step outputs replayed were sealed with k1, the output is sealed with k2
        expect(await e.handle(waitingId).result({ timeoutMs: 20_000 })).toEqual({
          charged: { token: `tok-${MARKER}-2` },
          child: { paid: `${MARKER}-2:paid` },
          note: `late ${MARKER}`,
        });
      } finally {
        await w.stop();
      }
      const [keys] = await e.db.query<{ input_key: string; output_key: string }>(
        `SELECT input ->> 'key' AS input_key, output ->> 'key' AS output_key FROM aries.executions WHERE id = $1`,
        [waitingId],
      );
      expect(keys).toEqual({ input_key: 'k1', output_key: 'k2' });
      expect(await tablesContaining(e.db, MARKER)).toEqual({});
    });

    test('a key taken out too early, or a tampered payload, is a PayloadDecodeError naming the key; no codec is a CodecRequiredError', async () => {
      let e = await reopen({ codec: aesGcmCodec({ keys: { k2 }, current: 'k2' }) });
      const read = e.admin.getExecution(sagaId);
      await expect(read).rejects.toBeInstanceOf(PayloadDecodeError);
      await expect(e.admin.getExecution(sagaId)).rejects.toThrow(/key "k1"/);
      await expect(e.handle(sagaId).result()).rejects.toThrow(/key "k1"/);

      e = await reopen({ codec: codecV2() });
      await e.db.query(
        `UPDATE aries.executions SET input = jsonb_set(input, '{data}', to_jsonb(overlay(input ->> 'data' placing 'AAAA' from 20 for 4))) WHERE id = $1`,
        [sagaId],
      );
      await expect(e.admin.readExecution(sagaId)).rejects.toThrow(/input of execution .* does not authenticate under key "k1"/);

      e = await reopen({});
      await expect(e.admin.getExecution(waitingId)).rejects.toBeInstanceOf(CodecRequiredError);
      await expect(e.handle(waitingId).result()).rejects.toThrow(/needs the engine option codec/);
    });

    test('a worker without the codec fails an encoded execution with CODEC_REQUIRED, and goes on running plain ones', async () => {
      let e = await reopen({ codec: codecV2() });
      const sealed = await e.start(failing, { card: MARKER });
      e = await reopen({});
      const w = worker(e);
      await w.start();
      try {
        await until(async () => (await e.db.query<{ status: string }>('SELECT status FROM aries.executions WHERE id = $1', [sealed.id]))[0]!.status === 'FAILED');
        const [row] = await e.db.query<{ error: { code?: string; message: string } }>('SELECT error FROM aries.executions WHERE id = $1', [sealed.id]);
        expect(row!.error).toMatchObject({ code: 'CODEC_REQUIRED' });
        expect(row!.error.message).toMatch(/encoded by codec "aes-256-gcm": this engine needs the engine option codec/);
        const plain = await e.start(payment, { card: 'plain' });
        plainId = plain.id;
        expect(await plain.result({ timeoutMs: 20_000 })).toEqual({ paid: 'plain:paid' });
        expect(w.stats.failed).toBe(1);
      } finally {
        await w.stop();
      }
      expect(await tablesContaining(e.db, MARKER)).toEqual({});

      // given the codec, recovered, it runs its workflow (which fails at its step, as it is written to)
      e = await reopen({ codec: codecV2() });
      await e.admin.recover(sealed.id);
      const w2 = worker(e);
      await w2.start();
      try {
        await expect(e.handle(sealed.id).result({ timeoutMs: 20_000 })).rejects.toThrow(`card ${MARKER} declined`);
      } finally {
        await w2.stop();
      }
      // a payload written without the codec stays readable with it
      expect(await e.handle(plainId).result()).toEqual({ paid: 'plain:paid' });
    });

    test('an idempotent start with a codec: the same input returns the execution, another input is refused', async () => {
      const e = await reopen({ codec: codecV2() });
      const first = await e.start(payment, { card: MARKER }, { idempotencyKey: 'codec-key' });
      const again = await e.start(payment, { card: MARKER }, { idempotencyKey: 'codec-key' });
      expect(again.id).toBe(first.id);
      expect(again.created).toBe(false);
      await expect(e.start(payment, { card: 'other' }, { idempotencyKey: 'codec-key' })).rejects.toBeInstanceOf(IdempotencyConflictError);
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
