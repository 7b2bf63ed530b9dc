/**
 * ctx.step: the user's function runs outside any transaction; its output is recorded after it returns,
 * with the next write of the execution (the next step's intent, or its end) or, if none comes soon, alone.
 * Between the function's return and that commit a crash runs the step again, with the same idempotency
 * key: the at-least-once window that idempotent side effects close.
 */
import { encodePayload } from '../../../core/payload-codec.js';
import type { StepContext, StepOptions } from '../../../sdk/types/workflow-context.js';
import { crashPoint } from '../../crash-points.js';
import type { Primitive } from './primitive.js';

type StepFn = (step: StepContext) => unknown;

export const stepPrimitive: Primitive<StepFn, StepOptions<never>, unknown> = {
  kind: 'step',
  call: 'ctx.step',
  async run(a) {
    const output = await a.fn(a.stepContext);
    // Not storable (too large, not JSON): the step failed, through the common failure path.
    const outputJson = await encodePayload(output, `output of step "${a.key}"`, a.run.deps.maxPayloadBytes, a.run.deps.codec, {
      kind: 'stepOutput',
      executionId: a.run.executionId,
    });
    return { output, outputJson };
  },
  settle(a, outputJson) {
    crashPoint('after-step-effect', a.key);
    a.run.journal.complete({
      seq: a.seq,
      stepKey: a.key,
      attempt: a.attempt,
      outputJson: outputJson ?? null,
      checkpoint: takesCheckpoint(a.run.deps.workflow.checkpoint, a.seq, a.options),
    });
  },
  judge: () => Promise.resolve('fail'),
};

/** By position, so the cadence is the same whether earlier steps ran here or were replayed. */
export function takesCheckpoint(
  policy: 'every-step' | 'marked' | { every: number },
  seq: number,
  options: StepOptions<never>,
): boolean {
  if (policy === 'every-step' || options.checkpoint === true) return true;
  if (policy === 'marked') return false;
  return (seq + 1) % policy.every === 0;
}
