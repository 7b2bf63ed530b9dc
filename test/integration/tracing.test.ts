import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { defineWorkflow, PermanentError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * OpenTelemetry: with an SDK registered (here an in-memory exporter), each run of an execution is an
 * "aries.execution" span and each step a worker runs an "aries.step" span inside it, with the workflow,
 * execution id, step key, attempt and, on failure, the failure type.
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
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, recoverySweepMs: 0 });
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
});
