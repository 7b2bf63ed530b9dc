import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { defineWorkflow, PermanentError, WaitTimeoutError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * OpenTelemetry: with an SDK registered (here an in-memory exporter), each run of an execution is an
 * "aries.execution" span and each step a worker runs an "aries.step" span inside it, with the workflow,
 * execution id, step key, attempt and, on failure, the failure type. Each wait is an "aries.wait" span
 * from its begin to its settling (on the database clock, across the runs it was suspended between),
 * inside the span of the run that settled it, with its kind, key, signal name or child id, and outcome.
 */
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  await provider.shutdown();
});

const attr = (s: ReadableSpan, k: string) => s.attributes[k];
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describeBackends('tracing', (b) => {
  test('a retried step and a permanent failure: execution spans per run, step spans per attempt, failure types recorded', async () => {
    const wf = defineWorkflow(`traced-${b.name}`, { retry: { initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' } }, async (ctx) => {
      await ctx.step('a', () => 1);
      await ctx.step('b', ({ attempt }) => {
        if (attempt === 1) throw new Error('briefly down');
        return 2;
      });
      await ctx.step('c', () => {
        throw new PermanentError('refused');
      });
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await h.result({ timeoutMs: 20_000 }).catch(() => {});
    await w.stop();

    const spans = exporter.getFinishedSpans().filter((s) => attr(s, 'aries.execution_id') === h.id);
    const runs = spans.filter((s) => s.name === 'aries.execution');
    expect(runs.map((s) => attr(s, 'aries.outcome'))).toEqual(['retryScheduled', 'failed']);
    expect(runs.every((s) => attr(s, 'aries.workflow') === wf.name)).toBe(true);
    expect(runs.map((s) => attr(s, 'aries.steps_replayed'))).toEqual([0, 1]); // the second run replays "a"

    const steps = spans.filter((s) => s.name === 'aries.step');
    expect(steps.map((s) => `${String(attr(s, 'aries.step_key'))}#${String(attr(s, 'aries.attempt'))}:${String(attr(s, 'aries.failure_type') ?? 'ok')}`)).toEqual([
      'a#1:ok',
      'b#1:TRANSIENT',
      'b#2:ok',
      'c#1:PERMANENT',
    ]);
    expect(attr(steps[1]!, 'aries.retrying')).toBe(true);
    // Each step span is a child of the span of the run that ran it.
    expect(parentOf(steps[0]!)).toBe(runs[0]!.spanContext().spanId);
    expect(parentOf(steps[1]!)).toBe(runs[0]!.spanContext().spanId);
    expect(parentOf(steps[2]!)).toBe(runs[1]!.spanContext().spanId);
    expect(steps[3]!.events.some((e) => e.name === 'exception')).toBe(true);
  });

  test('waits: a span each from begin to settle, with kind, key, signal name or child id, and outcome', async () => {
    const child = defineWorkflow(`traced-child-${b.name}`, async (ctx) => ctx.step('work', () => 'worked'));
    const wf = defineWorkflow(`traced-waits-${b.name}`, async (ctx) => {
      await ctx.sleep('nap', 80);
      // The sleep wins the race: the signal wait is cancelled, its span says so.
      await Promise.race([ctx.waitForSignal('hurry', { key: 'hurry-up' }), ctx.sleep('grace', 30)]);
      const worked = await ctx.child('sub', child, {});
      const approval = await ctx.waitForSignal<string>('approved');
      const late = await ctx.waitForSignal('late', { timeoutMs: 40 }).catch((err: unknown) => (err instanceof WaitTimeoutError ? 'timed out' : 'other'));
      return [worked, approval, late];
    });
    const w = b.engine.worker({ workflows: [wf, child], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(wf, {});
    for (let i = 0; !(await b.engine.admin.getExecution(h.id))!.steps.some((s) => s.key === 'signal:approved:1'); i++) {
      if (i > 500) throw new Error('the approval wait never began');
      await new Promise((r) => setTimeout(r, 20));
    }
    await b.engine.signal(h.id, 'approved', 'ok');
    expect(await h.result({ timeoutMs: 20_000 })).toEqual(['worked', 'ok', 'timed out']);
    await w.stop();

    const spans = exporter.getFinishedSpans().filter((s) => attr(s, 'aries.execution_id') === h.id);
    const waits = spans.filter((s) => s.name === 'aries.wait');
    const byKey = new Map(waits.map((s) => [String(attr(s, 'aries.step_key')), s]));
    expect(waits.map((s) => `${String(attr(s, 'aries.step_key'))}:${String(attr(s, 'aries.wait_kind'))}:${String(attr(s, 'aries.outcome'))}`).sort()).toEqual([
      'grace:sleep:completed',
      'hurry-up:signal:cancelled',
      'nap:sleep:completed',
      'signal:approved:1:signal:completed',
      'signal:late:1:signal:timed_out',
      'sub:child:completed',
    ]);
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    const duration = (s: ReadableSpan) => ms(s.endTime) - ms(s.startTime);
    const nap = byKey.get('nap')!;
    expect(duration(nap)).toBeGreaterThanOrEqual(79);
    expect(attr(nap, 'aries.wake_at')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(attr(byKey.get('hurry-up')!, 'aries.signal_name')).toBe('hurry');
    const sub = byKey.get('sub')!;
    const childRun = exporter.getFinishedSpans().find((s) => s.name === 'aries.execution' && attr(s, 'aries.workflow') === child.name);
    expect(attr(sub, 'aries.child_execution_id')).toBe(childRun && attr(childRun, 'aries.execution_id'));
    const late = byKey.get('signal:late:1')!;
    expect(attr(late, 'aries.timeout_at')).toBeDefined();
    expect(late.status.code).toBe(2); // ERROR
    expect(duration(late)).toBeGreaterThanOrEqual(39);

    // Each wait span is inside the span of the run that settled it; the sleep began in an earlier run
    // (the one that suspended the execution), so its span starts before the run that holds it.
    const runs = spans.filter((s) => s.name === 'aries.execution');
    expect(runs[0]!.attributes['aries.outcome']).toBe('suspended');
    for (const wait of waits) expect(runs.map((r) => r.spanContext().spanId)).toContain(parentOf(wait));
    const holder = runs.find((r) => r.spanContext().spanId === parentOf(nap))!;
    expect(holder).not.toBe(runs[0]);
    expect(ms(nap.startTime)).toBeLessThan(ms(holder.startTime));
  });
});
