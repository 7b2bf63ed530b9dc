/**
 * Starts a chaos run's planned executions, spread evenly over `spreadMs`, four starts in flight at most.
 * A start the database could not answer (restarting, its connection terminated) is tried again with the
 * same idempotency key until it is acknowledged, so one planned execution is one execution whatever
 * failed on the way; an acknowledged start's id is what the judge looks for afterwards.
 */
import type { Engine, Workflow } from '../../src/index.js';
import type { PlannedExecution } from './execution-plan.js';

export interface StartReport {
  /** Planned execution number → the id its acknowledged start answered. */
  acknowledged: Map<number, string>;
  /** Starts that failed and were tried again. */
  retried: number;
  /** The first few distinct reasons a start failed. */
  errors: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startExecutions(
  engine: Engine,
  workflows: ReadonlyMap<string, Workflow<unknown, unknown>>,
  plan: readonly PlannedExecution[],
  spreadMs: number,
  giveUpAt: number,
): Promise<StartReport> {
  const report: StartReport = { acknowledged: new Map(), retried: 0, errors: [] };
  const begin = Date.now();
  let next = 0;
  const startOne = async (p: PlannedExecution) => {
    for (;;) {
      try {
        const handle = await engine.start(workflows.get(p.workflow)!, p.input, { idempotencyKey: p.idempotencyKey });
        report.acknowledged.set(p.n, handle.id);
        return;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (report.errors.length < 5 && !report.errors.includes(reason)) report.errors.push(reason);
        if (Date.now() > giveUpAt) return;
        report.retried++;
        await sleep(250);
      }
    }
  };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < plan.length) {
        const p = plan[next++]!;
        const due = begin + (p.n / plan.length) * spreadMs;
        if (due > Date.now()) await sleep(due - Date.now());
        await startOne(p);
      }
    }),
  );
  return report;
}
