/**
 * The verdict of a chaos run, read from the cluster once every worker is gone. Failures (any one fails
 * the run):
 *
 *   lost                 an acknowledged start with no execution row, or a planned start never acknowledged
 *   stuck                an execution not finished after the drain
 *   wrong outcome        finished, but not as planned (COMPLETED; a failing saga COMPENSATED)
 *   completed step re-run by the engine
 *                        a step body that started after its step had completed, in a worker holding the
 *                        execution's lease (the effect log says), or a step_started journaled after that
 *                        step's step_completed
 *   completed compensation re-run
 *                        the same, for compensations
 *   plain step without its effect
 *                        a COMPLETED plain step whose body never logged an effect
 *   transactional row duplicated / missing / not by the completing attempt
 *                        chaos_rows holds exactly one row per completed book step, written by the attempt
 *                        that completed it
 *   compensation order violated
 *                        a compensated saga's compensations did not complete (journal) or first run
 *                        (effect log) as ship, charge, reserve, each once; or a saga that completed
 *                        compensated something
 *   journal broken       a checksum that fails, a prev-LSN link that does not point at the record before,
 *                        or a journal that does not end at the execution's last LSN
 *
 * Warnings (reported, not failing): step bodies started by a worker that no longer held the lease (a
 * stalled worker resuming a body it lost; the engine's statements are fenced, its effects are not), and
 * workers that died without being killed. Figures: steps re-run while in flight (attempt > 1) and
 * effects logged more than once per step, as at-least-once allows.
 */
import pg from 'pg';
import type { PlannedExecution } from './execution-plan.js';
import type { StartReport } from './starter.js';
import { COMPENSATION_ORDER, SAGA_WORKFLOW, TRANSFER_STEP, TRANSFER_WORKFLOW } from './workflows.js';

export interface Judgment {
  label: string;
  count: number;
  severity: 'failure' | 'warning' | 'figure';
  /** A few instances, for the log. */
  examples: string[];
}

const FINAL = ['COMPLETED', 'COMPENSATED', 'FAILED', 'CANCELLED'];

interface ExecutionRow {
  id: string;
  workflow_name: string;
  status: string;
}

async function rows<T extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query<T>(sql, params)).rows;
}

const keyed = (r: { execution_id: string; step_key: string }) => `${r.execution_id} ${r.step_key}`;

export async function judgeChaosRun(url: string, plan: readonly PlannedExecution[], starts: StartReport): Promise<Judgment[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Judgment[] = [];
    const add = (label: string, severity: Judgment['severity'], items: string[], count = items.length) =>
      out.push({ label, count, severity, examples: items.slice(0, 5) });

    const executions = await rows<ExecutionRow>(client, 'SELECT id, workflow_name, status FROM aries.executions');
    const byId = new Map(executions.map((e) => [e.id, e]));
    const lost: string[] = [];
    const stuck: string[] = [];
    const wrong: string[] = [];
    for (const p of plan) {
      const id = starts.acknowledged.get(p.n);
      if (id === undefined) {
        lost.push(`planned execution ${p.n}: its start was never acknowledged`);
        continue;
      }
      const e = byId.get(id);
      if (!e) lost.push(`${id} (${p.workflow} ${p.n}): acknowledged, no execution row`);
      else if (!FINAL.includes(e.status)) stuck.push(`${id} (${p.workflow} ${p.n}): ${e.status}`);
      else if (e.status !== p.expected) wrong.push(`${id} (${p.workflow} ${p.n}): ${e.status}, planned ${p.expected}`);
    }
    add('executions started (acknowledged)', 'figure', [], starts.acknowledged.size);
    add('lost', 'failure', lost);
    add('stuck after the drain', 'failure', stuck);
    add('wrong outcome', 'failure', wrong);

    const effectReruns = await rows<{ execution_id: string; step_key: string; kind: string }>(
      client,
      'SELECT DISTINCT execution_id, step_key, kind FROM chaos_effects WHERE done_before AND held_lease',
    );
    const journalReruns = await rows<{ execution_id: string; step_key: string; kind: string }>(
      client,
      `SELECT DISTINCT s.execution_id, s.step_key, s.kind FROM aries.journal s
        WHERE s.kind IN ('step_started', 'compensation_started')
          AND EXISTS (SELECT 1 FROM aries.journal c
                       WHERE c.execution_id = s.execution_id AND c.step_key = s.step_key AND c.lsn < s.lsn
                         AND c.kind = CASE s.kind WHEN 'step_started' THEN 'step_completed' ELSE 'compensation_completed' END)`,
    );
    const reruns = (step: boolean) =>
      [
        ...new Set([
          ...effectReruns.filter((r) => (r.kind === 'step') === step).map((r) => `${keyed(r)} (effect log)`),
          ...journalReruns.filter((r) => (r.kind === 'step_started') === step).map((r) => `${keyed(r)} (journal)`),
        ]),
      ];
    add('completed step re-run by the engine', 'failure', reruns(true));
    add('completed compensation re-run', 'failure', reruns(false));

    const zombies = await rows<{ execution_id: string; step_key: string; kind: string; attempt: number; worker_id: string }>(
      client,
      'SELECT execution_id, step_key, kind, attempt, worker_id FROM chaos_effects WHERE NOT held_lease ORDER BY id',
    );
    add(
      'step bodies started by a worker that no longer held the lease',
      'warning',
      zombies.map((z) => `${keyed(z)}${z.kind === 'compensation' ? ' (compensation)' : ''} attempt ${z.attempt} in ${z.worker_id}`),
    );

    const withoutEffect = await rows<{ execution_id: string; step_key: string }>(
      client,
      `SELECT s.execution_id, s.step_key FROM aries.steps s
        WHERE s.status = 'COMPLETED' AND s.kind = 'step'
          AND NOT EXISTS (SELECT 1 FROM chaos_effects f WHERE f.execution_id = s.execution_id AND f.step_key = s.step_key AND f.kind = 'step')`,
    );
    add('plain step completed without its effect', 'failure', withoutEffect.map(keyed));

    const book = await rows<{ id: string; status: string; step_attempt: number | null; rows: number | string; by_attempt: number | string }>(
      client,
      `SELECT e.id, s.status, s.attempt AS step_attempt,
              (SELECT count(*) FROM chaos_rows r WHERE r.execution_id = e.id) AS rows,
              (SELECT count(*) FROM chaos_rows r WHERE r.execution_id = e.id AND r.attempt = s.attempt) AS by_attempt
         FROM aries.executions e LEFT JOIN aries.steps s ON s.execution_id = e.id AND s.step_key = $2
        WHERE e.workflow_name = $1`,
      [TRANSFER_WORKFLOW, TRANSFER_STEP],
    );
    const completedBook = book.filter((b) => b.status === 'COMPLETED');
    add('transactional rows duplicated', 'failure', book.filter((b) => Number(b.rows) > 1).map((b) => `${b.id}: ${b.rows} rows`));
    add(
      'transactional rows missing',
      'failure',
      book.filter((b) => (b.status === 'COMPLETED') !== (Number(b.rows) > 0)).map((b) => `${b.id}: step ${b.status ?? 'absent'}, ${b.rows} rows`),
    );
    add(
      'transactional row not by the completing attempt',
      'failure',
      completedBook.filter((b) => Number(b.rows) === 1 && Number(b.by_attempt) !== 1).map((b) => `${b.id}: completed by attempt ${b.step_attempt}`),
    );

    const sagas = await rows<{ id: string; status: string; completed: string[] | null; first_runs: string[] | null }>(
      client,
      `SELECT e.id, e.status,
              (SELECT array_agg(j.step_key ORDER BY j.lsn) FROM aries.journal j
                WHERE j.execution_id = e.id AND j.kind = 'compensation_completed') AS completed,
              (SELECT array_agg(f.step_key ORDER BY f.first_id) FROM
                 (SELECT step_key, min(id) AS first_id FROM chaos_effects
                   WHERE execution_id = e.id AND kind = 'compensation' GROUP BY step_key) f) AS first_runs
         FROM aries.executions e WHERE e.workflow_name = $1 AND e.status IN ('COMPLETED', 'COMPENSATED')`,
      [SAGA_WORKFLOW],
    );
    const want = COMPENSATION_ORDER.join(',');
    const disorder = sagas.flatMap((s) => {
      const completed = (s.completed ?? []).join(',');
      const firstRuns = (s.first_runs ?? []).join(',');
      if (s.status === 'COMPLETED') return completed || firstRuns ? [`${s.id}: COMPLETED, yet compensated ${completed || firstRuns}`] : [];
      if (completed !== want) return [`${s.id}: compensations completed ${completed || 'none'}`];
      if (firstRuns !== want) return [`${s.id}: compensations first ran ${firstRuns || 'never'}`];
      return [];
    });
    add('compensated sagas', 'figure', [], sagas.filter((s) => s.status === 'COMPENSATED').length);
    add('compensation order violated', 'failure', disorder);

    const journal = await rows<{ id: string; bad: number | string; links: number | string; wrong_end: boolean }>(
      client,
      `WITH j AS (
         SELECT e.id, e.last_lsn, r.lsn, r.prev_lsn, r.checksum_ok,
                lag(r.lsn) OVER (PARTITION BY e.id ORDER BY r.lsn) AS before,
                max(r.lsn) OVER (PARTITION BY e.id) AS last
           FROM aries.executions e CROSS JOIN LATERAL aries.read_journal(p_execution_id => e.id) r)
       SELECT id, count(*) FILTER (WHERE NOT checksum_ok) AS bad,
              count(*) FILTER (WHERE prev_lsn IS DISTINCT FROM before) AS links,
              bool_or(last_lsn IS DISTINCT FROM last) AS wrong_end
         FROM j GROUP BY id
       HAVING count(*) FILTER (WHERE NOT checksum_ok) > 0 OR count(*) FILTER (WHERE prev_lsn IS DISTINCT FROM before) > 0
           OR bool_or(last_lsn IS DISTINCT FROM last)`,
    );
    add(
      'journal broken (checksum, prev-LSN chain, last LSN)',
      'failure',
      journal.map((j) => `${j.id}: ${j.bad} bad checksums, ${j.links} broken links${j.wrong_end ? ', ends elsewhere than its last LSN' : ''}`),
    );

    const [again] = await rows<{ resumed: number | string; repeated: number | string; effects: number | string }>(
      client,
      `SELECT (SELECT count(*) FROM aries.steps WHERE attempt > 1) AS resumed,
              (SELECT count(*) FROM (SELECT 1 FROM chaos_effects WHERE kind = 'step' GROUP BY execution_id, step_key HAVING count(*) > 1) x) AS repeated,
              (SELECT count(*) FROM chaos_effects) AS effects`,
    );
    add('effects logged', 'figure', [], Number(again!.effects));
    add('steps with attempt > 1 (re-run while in flight)', 'figure', [], Number(again!.resumed));
    add('plain steps whose effect ran more than once', 'figure', [], Number(again!.repeated));
    return out;
  } finally {
    await client.end().catch(() => {});
  }
}
