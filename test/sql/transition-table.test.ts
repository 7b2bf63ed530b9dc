import { expect, test } from 'vitest';
import { EXECUTION_STATUSES, EXECUTION_TRANSITIONS, TERMINAL_STATUSES } from '../../src/core/execution-states.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('the execution state machine', (b) => {
  test('the TypeScript transition table equals the one the database enforces', async () => {
    const rows = await b.engine.db.query<{ from_status: string; to_status: string }>(
      'SELECT from_status, to_status FROM aries.execution_transitions ORDER BY 1, 2',
    );
    const fromDb = rows.map((r) => `${r.from_status}->${r.to_status}`).sort();
    const fromTs = Object.entries(EXECUTION_TRANSITIONS)
      .flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`))
      .sort();
    expect(fromDb).toEqual(fromTs);
  });

  test('the statuses and which are terminal match the database', async () => {
    const rows = await b.engine.db.query<{ status: string; terminal: boolean }>(
      'SELECT status, terminal FROM aries.execution_statuses ORDER BY status',
    );
    expect(rows.map((r) => r.status).sort()).toEqual([...EXECUTION_STATUSES].sort());
    expect(rows.filter((r) => r.terminal).map((r) => r.status).sort()).toEqual([...TERMINAL_STATUSES].sort());
  });
});
