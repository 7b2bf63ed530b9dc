/**
 * The workflow the queue and schedule benchmarks run: one step, so a claim's cost (admission under the
 * queue's limits) is a large part of each execution and differences between queues show.
 */
import { defineWorkflow } from '../src/index.js';

export const flowWorkflow = defineWorkflow('bench-flow', async (ctx, i: number) => ctx.step('work', () => i));
