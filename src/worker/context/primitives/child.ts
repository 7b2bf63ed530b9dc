/**
 * ctx.child: starts a child execution and waits for its end, holding nothing meanwhile (WAITING). The
 * child is started in the same transaction as the wait begins (aries.start_child), under an id derived
 * from (parent, key), so a replayed call never starts a second one; the child's end makes the parent due
 * in its own transaction. Its output is the wait's output; a child that ends FAILED, COMPENSATED or
 * CANCELLED fails the wait with ChildWorkflowFailedError. A completed child is SUB_COMMITTED until the
 * parent completes (then COMPLETED) or compensates (then compensated with it).
 */
import { encodePayload } from '../../../core/payload-codec.js';
import { InvalidDefinitionError, InvalidInputError } from '../../../errors.js';
import { startChild } from '../../../db/waits.js';
import type { ChildWorkflow } from '../../../sdk/types/workflow-context.js';
import type { WaitPrimitive } from './primitive.js';
import { checkTimeout } from './signal-wait.js';

export interface ChildSpec {
  workflow: ChildWorkflow<unknown, unknown>;
  input: unknown;
  timeoutMs: number | undefined;
  parentClose: 'cancel' | 'abandon' | undefined;
}

export const childPrimitive: WaitPrimitive<ChildSpec> = {
  kind: 'child',
  call: 'ctx.child',
  validate(key, spec) {
    if (typeof key !== 'string' || key === '') throw new InvalidInputError('ctx.child needs a non-empty string key');
    const wf = spec.workflow as Partial<ChildWorkflow<unknown, unknown>> | undefined;
    if (typeof wf !== 'object' || wf === null || wf.kind !== 'aries.workflow' || typeof wf.name !== 'string') {
      throw new InvalidDefinitionError(`ctx.child("${key}") needs a workflow defined with defineWorkflow, got ${typeof wf}`);
    }
    checkTimeout(`ctx.child("${key}")`, spec.timeoutMs);
    if (spec.parentClose !== undefined && spec.parentClose !== 'cancel' && spec.parentClose !== 'abandon') {
      throw new InvalidInputError(`ctx.child("${key}"): parentClose must be 'cancel' or 'abandon', got ${String(spec.parentClose)}`);
    }
  },
  async begin(run, key, seq, spec) {
    const inputJson = await encodePayload(spec.input, `input of child "${key}"`, run.deps.maxPayloadBytes, run.deps.codec, { kind: 'input', executionId: null });
    await startChild(run.deps.db, run.deps.lease, {
      seq,
      stepKey: key,
      workflow: spec.workflow.name,
      version: spec.workflow.version,
      inputJson,
      timeoutMs: spec.timeoutMs,
      parentClose: spec.parentClose ?? 'cancel',
      childTimeoutMs: spec.workflow.timeoutMs,
    });
  },
};
