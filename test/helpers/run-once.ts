/**
 * Runs one execution of `wf` on a worker of its own, started for it and stopped after: its handle and how
 * it ended (its output, or the error result() threw). For tests that look at one run's effects.
 */
import type { Engine, ExecutionHandle, Workflow } from '../../src/index.js';

export type RunOutcome = { ok: true; o: unknown } | { ok: false; e: unknown };

export async function runOnce<I>(engine: Engine, wf: Workflow<I, unknown>, input: I): Promise<{ handle: ExecutionHandle<unknown>; outcome: RunOutcome }> {
  const w = engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
  await w.start();
  try {
    const handle = await engine.start(wf, input);
    const outcome = await handle.result({ timeoutMs: 30_000 }).then(
      (o): RunOutcome => ({ ok: true, o }),
      (e: unknown): RunOutcome => ({ ok: false, e }),
    );
    return { handle, outcome };
  } finally {
    await w.stop();
  }
}
