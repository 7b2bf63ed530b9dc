import { expect, test } from 'vitest';
import { cronProblem, nextSlotAfter, planSlots, timezoneProblem } from '../../src/core/schedule-slots.js';

const d = (iso: string) => new Date(iso);

test('nextSlotAfter reads the cron in its timezone: Europe/Berlin against UTC, across the spring DST change', () => {
  // 02:00 every day. In UTC it is 02:00Z; in Berlin 02:00 CET (01:00Z) before the change and 02:00 CEST
  // (00:00Z) after; on 2025-03-30 itself 02:00 does not exist in Berlin and croner runs it at 03:00 CEST.
  expect(nextSlotAfter('0 2 * * *', 'UTC', d('2025-03-29T12:00:00Z'))).toEqual(d('2025-03-30T02:00:00Z'));
  expect(nextSlotAfter('0 2 * * *', 'Europe/Berlin', d('2025-03-28T12:00:00Z'))).toEqual(d('2025-03-29T01:00:00Z'));
  expect(nextSlotAfter('0 2 * * *', 'Europe/Berlin', d('2025-03-29T12:00:00Z'))).toEqual(d('2025-03-30T01:00:00Z'));
  expect(nextSlotAfter('0 2 * * *', 'Europe/Berlin', d('2025-03-30T12:00:00Z'))).toEqual(d('2025-03-31T00:00:00Z'));
  // Seconds: the sixth field.
  expect(nextSlotAfter('*/10 * * * * *', 'UTC', d('2025-01-01T00:00:01.500Z'))).toEqual(d('2025-01-01T00:00:10Z'));
});

test('cronProblem and timezoneProblem give the reason for a bad expression or zone, and nothing for good ones', () => {
  expect(cronProblem('0 2 * * *')).toBeUndefined();
  expect(cronProblem('*/1 * * * * *')).toBeUndefined();
  expect(cronProblem('every day')).toMatch(/invalid cron expression "every day"/);
  expect(cronProblem('61 * * * *')).toMatch(/invalid cron expression/);
  expect(timezoneProblem('Europe/Berlin')).toBeUndefined();
  expect(timezoneProblem('Mars/Olympus')).toMatch(/unknown timezone "Mars\/Olympus"/);
});

const rule = (misfire: 'skip' | 'once' | 'all', maxLatenessMs = 60_000) => ({ cron: '0 * * * * *', timezone: 'UTC', misfire, maxLatenessMs });
const minute = (m: number) => new Date(Date.UTC(2031, 0, 1, 0, m));

test('planSlots after ten minutes down: skip starts the latest if on time, once starts it even if late, all starts those on time', () => {
  const now = new Date(minute(10).getTime() + 30_000); // 00:10:30, slots 00:00 … 00:10 due
  expect(planSlots(rule('skip'), minute(0), now)).toEqual({
    start: [minute(10)],
    skipped: { from: minute(0), through: minute(9), count: 10 },
    missed: null,
    nextFireAt: minute(11),
    capped: false,
  });
  // 29 s of lateness allowed: the latest (30 s late) is late, so skip starts nothing and once starts it anyway.
  expect(planSlots(rule('skip', 29_000), minute(0), now)).toMatchObject({ start: [], skipped: { from: minute(0), through: minute(10), count: 11 } });
  expect(planSlots(rule('once', 29_000), minute(0), now)).toMatchObject({ start: [minute(10)], skipped: { count: 10 } });
  // all, 3 min of lateness: 00:08, 00:09, 00:10 start (00:07:30 is the bound), the rest missed.
  expect(planSlots(rule('all', 180_000), minute(0), now)).toEqual({
    start: [minute(8), minute(9), minute(10)],
    skipped: null,
    missed: { from: minute(0), through: minute(7), count: 8 },
    nextFireAt: minute(11),
    capped: false,
  });
});

test('planSlots looks at no more than its cap of slots per firing, and starts nothing under skip until it reaches now', () => {
  const perSecond = { cron: '* * * * * *', timezone: 'UTC', misfire: 'skip' as const, maxLatenessMs: 60_000 };
  const from = d('2031-01-01T00:00:00Z');
  const now = d('2031-01-02T00:00:00Z'); // a day of per-second slots due
  const first = planSlots(perSecond, from, now, 10_000);
  expect(first).toMatchObject({ start: [], skipped: { count: 10_000 }, capped: true, nextFireAt: d('2031-01-01T02:46:40Z') });
  let next = first.nextFireAt;
  let firings = 1;
  let started: Date[] = [];
  for (;;) {
    const p = planSlots(perSecond, next, now, 10_000);
    firings++;
    next = p.nextFireAt;
    started = started.concat(p.start);
    if (!p.capped) break;
  }
  expect(firings).toBe(9);
  expect(started).toEqual([now]);
});
