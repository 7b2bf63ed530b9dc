/**
 * The workflows of a chaos run and the application tables they write, in the throwaway cluster's chaos
 * database beside the engine's schema:
 *
 *   chaos-steps     four plain steps;
 *   chaos-transfer  a plain step, a transactional step that inserts its chaos_rows row (exactly once must
 *                   hold: the row commits with the step's completion), a plain step;
 *   chaos-saga      three plain steps with compensations, then a fourth that fails PERMANENTLY in the
 *                   executions whose input says so: those compensate ship, charge, reserve (in that order).
 *
 * Every plain step body and every compensation, as it starts, logs an effect in chaos_effects: execution,
 * step key, attempt, worker pid and id, and, read in the same statement, whether that worker still held
 * the execution's lease and whether the step (or its compensation) had already completed. A body that
 * starts after its step completed, in a worker holding the lease, is the engine running a completed step
 * again; one in a worker that had lost its lease (stalled past it, then resumed) is a zombie's start.
 * Retries are generous: a database restart under a step fails its effect write TRANSIENTLY, and the run
 * judges the engine, not a retry budget.
 */
import { defineWorkflow, PermanentError, type Engine, type StepContext } from '../../src/index.js';

export const CHAOS_DDL = `
CREATE TABLE IF NOT EXISTS chaos_effects (
  id                 bigserial PRIMARY KEY,
  execution_id       uuid NOT NULL,
  step_key           text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('step', 'compensation')),
  attempt            integer NOT NULL,
  worker_pid         integer NOT NULL,
  worker_id          text NOT NULL,
  held_lease         boolean NOT NULL,
  done_before        boolean NOT NULL,
  at                 timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX IF NOT EXISTS chaos_effects_execution_idx ON chaos_effects (execution_id, step_key);
CREATE TABLE IF NOT EXISTS chaos_rows (
  id           bigserial PRIMARY KEY,
  execution_id uuid NOT NULL,
  step_key     text NOT NULL,
  attempt      integer NOT NULL,
  worker_pid   integer NOT NULL);
CREATE INDEX IF NOT EXISTS chaos_rows_execution_idx ON chaos_rows (execution_id);`;

/** The lease and the step's state are read by the same statement that logs the effect. */
const LOG_EFFECT = `
INSERT INTO chaos_effects (execution_id, step_key, kind, attempt, worker_pid, worker_id, held_lease, done_before)
SELECT $1::uuid, $2, $3, $4, $5, $6,
       coalesce(e.lease_owner = $6, false),
       CASE WHEN $3 = 'compensation' THEN coalesce(s.compensation_status = 'COMPLETED', false)
            ELSE coalesce(s.status = 'COMPLETED', false) END
  FROM (SELECT 1) AS one
  LEFT JOIN aries.executions e ON e.id = $1::uuid
  LEFT JOIN aries.steps s ON s.execution_id = $1::uuid AND s.step_key = $2`;

export const STEPS_WORKFLOW = 'chaos-steps';
export const TRANSFER_WORKFLOW = 'chaos-transfer';
export const SAGA_WORKFLOW = 'chaos-saga';
export type ChaosWorkflowName = typeof STEPS_WORKFLOW | typeof TRANSFER_WORKFLOW | typeof SAGA_WORKFLOW;

export const STEP_KEYS = ['a', 'b', 'c', 'd'] as const;
export const TRANSFER_STEP = 'book';
/** The saga's compensated steps, in the order they run; they compensate in reverse. */
export const SAGA_STEPS = ['reserve', 'charge', 'ship'] as const;
export const COMPENSATION_ORDER = [...SAGA_STEPS].reverse();

export interface ChaosInput {
  n: number;
  /** How long each plain step holds after logging its effect: faults land inside step bodies. */
  pauseMs: number;
  /** chaos-saga only: its last step fails PERMANENTLY and the execution compensates. */
  fail?: boolean;
}

const RETRY = { maxAttempts: 60, initialDelayMs: 100, maxDelayMs: 2_000 };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function chaosWorkflows(engine: Engine, workerId: string) {
  const logEffect = async (ctx: StepContext, kind: 'step' | 'compensation') => {
    await engine.db.query(LOG_EFFECT, [ctx.executionId, ctx.stepKey, kind, ctx.attempt, process.pid, workerId]);
  };
  const plain = (pauseMs: number) => async (ctx: StepContext) => {
    await logEffect(ctx, 'step');
    await sleep(pauseMs);
    return ctx.stepKey;
  };

  const steps = defineWorkflow<ChaosInput, string[]>(STEPS_WORKFLOW, { retry: RETRY }, async (ctx, input) => {
    const done: string[] = [];
    for (const key of STEP_KEYS) done.push(await ctx.step(key, plain(input.pauseMs)));
    return done;
  });

  const transfer = defineWorkflow<ChaosInput, number>(TRANSFER_WORKFLOW, { retry: RETRY }, async (ctx, input) => {
    await ctx.step('reserve', plain(input.pauseMs));
    const attempt = await ctx.transaction(TRANSFER_STEP, async (tx) => {
      await tx.query('INSERT INTO chaos_rows (execution_id, step_key, attempt, worker_pid) VALUES ($1, $2, $3, $4)', [
        tx.executionId,
        tx.stepKey,
        tx.attempt,
        process.pid,
      ]);
      return tx.attempt;
    });
    await ctx.step('notify', plain(input.pauseMs));
    return attempt;
  });

  const saga = defineWorkflow<ChaosInput, string>(SAGA_WORKFLOW, { retry: RETRY }, async (ctx, input) => {
    for (const key of SAGA_STEPS) {
      await ctx.step(key, plain(input.pauseMs), {
        compensate: async (_output, c) => {
          await logEffect(c, 'compensation');
          await sleep(input.pauseMs);
        },
      });
    }
    await ctx.step('confirm', async (c) => {
      if (input.fail) throw new PermanentError('the order cannot be confirmed');
      return plain(input.pauseMs)(c);
    });
    return 'confirmed';
  });

  return [steps, transfer, saga];
}
