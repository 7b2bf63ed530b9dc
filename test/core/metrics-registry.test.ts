import { describe, expect, test } from 'vitest';
import { AriesMetrics, renderDatabaseGauges } from '../../src/core/aries-metrics.js';
import { MetricsRegistry, renderProcessMetrics } from '../../src/core/metrics-registry.js';
import { parseExposition } from '../helpers/exposition.js';

describe('metrics registry', () => {
  test('renders counters and gauges as a valid exposition with their values, help and types', async () => {
    const r = new MetricsRegistry();
    const c = r.counter('aries_things_total', 'Things done.', ['workflow', 'kind']);
    c.labels('order', 'a').inc();
    c.labels('order', 'a').inc(2);
    c.labels('refund', 'b').inc();
    r.counter('aries_plain_total', 'No labels.');
    r.gauge('aries_level', 'A level.').set(-1.5);
    const parsed = parseExposition(await r.render());
    expect(parsed.value('aries_things_total', { workflow: 'order', kind: 'a' })).toBe(3);
    expect(parsed.value('aries_things_total', { workflow: 'refund', kind: 'b' })).toBe(1);
    expect(parsed.value('aries_plain_total')).toBe(0); // a counter without labels reads 0 before anything happens
    expect(parsed.value('aries_level')).toBe(-1.5);
    expect(parsed.types.get('aries_things_total')).toBe('counter');
    expect(parsed.types.get('aries_level')).toBe('gauge');
    expect(parsed.helps.get('aries_plain_total')).toBe('No labels.');
  });

  test('a labelled family nothing used yet has no samples', async () => {
    const r = new MetricsRegistry();
    r.counter('aries_unused_total', 'Unused.', ['workflow']);
    expect(parseExposition(await r.render()).find('aries_unused_total')).toEqual([]);
  });

  test('label values with backslash, double quote and newline round-trip; so does help text', async () => {
    const r = new MetricsRegistry();
    r.counter('aries_odd_total', 'Help with a \\ backslash,\na newline and a "quote".', ['workflow']).labels('a\\b"c\nd').inc();
    const parsed = parseExposition(await r.render());
    expect(parsed.samples[0]!.labels.workflow).toBe('a\\b"c\nd');
    expect(parsed.helps.get('aries_odd_total')).toBe('Help with a \\ backslash,\na newline and a "quote".');
  });

  test('histogram buckets are cumulative, end in +Inf, and _count and _sum follow; NaN is dropped', async () => {
    const r = new MetricsRegistry();
    const h = r.histogram('aries_wait_seconds', 'Waits.', ['workflow'], [0.125, 1, 10]);
    const s = h.labels('order');
    for (const v of [0.0625, 0.125, 0.5, 2, 20, 32, NaN]) s.observe(v); // 0.125 is in the le="0.125" bucket (v <= bound)
    const parsed = parseExposition(await r.render());
    const bucket = (le: string) => parsed.value('aries_wait_seconds_bucket', { workflow: 'order', le });
    expect(['0.125', '1', '10', '+Inf'].map(bucket)).toEqual([2, 3, 4, 6]);
    expect(parsed.value('aries_wait_seconds_sum', { workflow: 'order' })).toBe(54.6875);
    expect(parsed.value('aries_wait_seconds_count', { workflow: 'order' })).toBe(6);
  });

  test('a histogram without labels renders its empty buckets at once', async () => {
    const r = new MetricsRegistry();
    r.histogram('aries_claim_seconds', 'Claims.', [], [0.5]);
    const parsed = parseExposition(await r.render());
    expect(parsed.value('aries_claim_seconds_bucket', { le: '0.5' })).toBe(0);
    expect(parsed.value('aries_claim_seconds_bucket', { le: '+Inf' })).toBe(0);
    expect(parsed.value('aries_claim_seconds_count')).toBe(0);
  });

  test('refuses what would render an invalid exposition', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('aries_no_suffix', 'x')).toThrow(/_total/);
    expect(() => r.gauge('aries-bad', 'x')).toThrow(/Invalid metric name/i);
    expect(() => r.gauge('aries_g', 'x', ['bad-label'])).toThrow(/Invalid label name/i);
    expect(() => r.histogram('aries_h', 'x', ['le'])).toThrow(/reserved/);
    expect(() => r.histogram('aries_h2', 'x', [], [1, 1])).toThrow(/strictly increasing/);
    r.gauge('aries_once', 'x');
    expect(() => r.gauge('aries_once', 'x')).toThrow(/already been registered/);
    const c = r.counter('aries_c_total', 'x', ['a']);
    expect(() => c.labels()).toThrow(/1 label value/);
    expect(() => c.labels('x').inc(-1)).toThrow(/only goes up/);
    expect(() => c.inc()).toThrow(/has labels/);
  });

  test('a series is resolved once and kept: the same object for the same label values', () => {
    const r = new MetricsRegistry();
    const c = r.counter('aries_c_total', 'x', ['a', 'b']);
    expect(c.labels('1', '2')).toBe(c.labels('1', '2'));
    expect(c.labels('1,2', '')).not.toBe(c.labels('1', '2,'));
  });

  test("the process's own metrics: CPU, resident memory, heap, GC and event-loop lag", async () => {
    const parsed = parseExposition(await renderProcessMetrics());
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(parsed.types.has(name), name).toBe(true);
    }
    expect(parsed.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  test("Aries's metrics and the database gauges render as one valid exposition, each family once", async () => {
    const m = new AriesMetrics();
    const s = m.forWorkflow('order');
    s.completed.inc();
    s.stepAttempts.inc();
    s.stepDuration.observe(0.02);
    m.claimDuration.observe(0.003);
    const text =
      (await m.render()) +
      (await renderDatabaseGauges({
        queueDepth: 3,
        executions: { PENDING: 4, RUNNING: 1, SLEEPING: 5, WAITING: 6, SUB_COMMITTED: 7, COMPENSATING: 0, FAILED: 2 },
        expiredLeases: 0,
        queues: [{ name: 'mail', pending: 2, delayed: 1, running: 3, waiting: 0, oldestDueMs: 1_500, limits: { concurrency: 5, worker: null, key: null, rate: 100 } }],
      }));
    const parsed = parseExposition(text);
    expect(parsed.value('aries_executions_completed_total', { workflow: 'order' })).toBe(1);
    expect(parsed.value('aries_executions_failed_total', { workflow: 'order' })).toBe(0);
    expect(parsed.value('aries_executions', { status: 'FAILED' })).toBe(2);
    expect(['SLEEPING', 'WAITING', 'SUB_COMMITTED'].map((status) => parsed.value('aries_executions', { status }))).toEqual([5, 6, 7]);
    expect(parsed.value('aries_queue_depth')).toBe(3);
    expect(parsed.value('aries_database_up')).toBe(1);
    expect(['pending', 'delayed', 'running', 'waiting'].map((s) => parsed.value(`aries_queue_${s}`, { queue: 'mail' }))).toEqual([2, 1, 3, 0]);
    expect(parsed.value('aries_queue_oldest_due_seconds', { queue: 'mail' })).toBe(1.5);
    expect(parsed.value('aries_queue_limit', { queue: 'mail', limit: 'concurrency' })).toBe(5);
    expect(parsed.value('aries_queue_limit', { queue: 'mail', limit: 'rate' })).toBe(100);
    expect(parsed.find('aries_queue_limit', { queue: 'mail' }).map((s) => s.labels.limit)).toEqual(['concurrency', 'rate']);
    expect(parsed.types.get('aries_step_duration_seconds')).toBe('histogram');
    const down = parseExposition((await m.render()) + (await renderDatabaseGauges(undefined)));
    expect(down.value('aries_database_up')).toBe(0);
    expect(down.types.has('aries_queue_depth')).toBe(false);
  });

  test('the test parser refuses what Prometheus would refuse', () => {
    const bad: Record<string, [string, RegExp]> = {
      'no final newline': ['a 1', /newline/],
      'bad escape': ['# TYPE a gauge\na{x="\\t"} 1\n', /bad escape/],
      'second TYPE': ['# TYPE a gauge\n# TYPE a gauge\na 1\n', /second TYPE/],
      'split family': ['# TYPE a gauge\na{x="1"} 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n', /split/],
      'repeated series': ['a{x="1"} 1\na{x="1"} 2\n', /repeated/],
      'negative counter': ['# TYPE a_total counter\na_total -1\n', /negative/],
      'buckets not cumulative': ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
      'no +Inf bucket': ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf/],
      '+Inf bucket is not _count': ['# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n', /is not _count/],
    };
    for (const [why, [text, message]] of Object.entries(bad)) expect(() => parseExposition(text), why).toThrow(message);
  });
});
