/**
 * The workflows the durable-waits benchmark runs, and the probe that tells when a step began.
 *
 * Each pair is a waiting workflow and its baseline: the same step without the wait. A probed step calls
 * stepBegan(tag) first thing, so "the waiting workflow's next step starts" is measured in the worker
 * (this process), not at the end of the execution.
 */
import { defineWorkflow } from '../src/index.js';

const probes = new Map<string, (at: number) => void>();

/** Resolves with performance.now() when the probed step of the execution started with `tag` begins. */
export function whenStepBegins(tag: string): Promise<number> {
  return new Promise((resolve) => probes.set(tag, resolve));
}

function stepBegan(tag: string): void {
  const at = performance.now();
  const resolve = probes.get(tag);
  probes.delete(tag);
  resolve?.(at);
}

/** Waits for the signal "go", then runs one step (probed) that returns its payload. */
export const signalWorkflow = defineWorkflow('bench-signal', async (ctx, tag: string) => {
  const payload = await ctx.waitForSignal<string>('go');
  return ctx.step('next', () => {
    stepBegan(tag);
    return payload;
  });
});

/** The baseline of signalWorkflow: the same probed step, reached by starting the execution. */
export const startedWorkflow = defineWorkflow('bench-started', async (ctx, tag: string) =>
  ctx.step('next', () => {
    stepBegan(tag);
    return tag;
  }),
);

/** Sleeps a day (the benchmark makes it due sooner), then runs one step. */
export const sleeperWorkflow = defineWorkflow('bench-sleeper', async (ctx, i: number) => {
  await ctx.sleep('nap', 86_400_000);
  return ctx.step('after', () => i);
});

/** The baseline of sleeperWorkflow: its step, without the sleep. */
export const awakeWorkflow = defineWorkflow('bench-awake', async (ctx, i: number) => ctx.step('after', () => i));

/** A child: one step. Also the baseline of the parent, started on its own. */
export const childWorkflow = defineWorkflow('bench-child', async (ctx, i: number) => ctx.step('work', () => i));

/** A parent of one child, returning the child's result. */
export const parentWorkflow = defineWorkflow('bench-parent', async (ctx, i: number) => ctx.child('c', childWorkflow, i));

/** A parent of `n` children started at once (Promise.all), returning how many results came back. */
export const fanOutWorkflow = defineWorkflow('bench-fan-out', async (ctx, n: number) => {
  const results = await Promise.all(Array.from({ length: n }, (_, k) => ctx.child(`c${k}`, childWorkflow, k)));
  return results.length;
});

/** Every workflow above: what the benchmark's workers register (and claim for, so claims are the same everywhere). */
export const benchWaitWorkflows = [signalWorkflow, startedWorkflow, sleeperWorkflow, awakeWorkflow, childWorkflow, parentWorkflow, fanOutWorkflow];
