/**
 * Defining a workflow: a name, a version and an async function of (ctx, input). Replay matches steps by
 * their explicit string keys, so nothing here depends on function names or decorators.
 */
import { DEFAULT_DURABILITY, parseDurability } from '../core/durability.js';
import { retentionPolicyProblem } from '../core/retention-policy.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy } from '../core/retry-policy.js';
import { InvalidDefinitionError } from '../errors.js';
import { checkQueueName } from './define-queue.js';
import { isQueue } from './types/queue.js';
import type { Workflow, WorkflowFunction, WorkflowOptions } from './types/workflow.js';

export type { CheckpointPolicy, Workflow, WorkflowFunction, WorkflowOptions } from './types/workflow.js';
export { isWorkflow } from './types/workflow.js';

function isPositiveDuration(ms: unknown): boolean {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

export function defineWorkflow<Input = unknown, Output = unknown>(
  name: string,
  fn: WorkflowFunction<Input, Output>,
): Workflow<Input, Output>;
export function defineWorkflow<Input = unknown, Output = unknown>(
  name: string,
  options: WorkflowOptions,
  fn: WorkflowFunction<Input, Output>,
): Workflow<Input, Output>;
export function defineWorkflow<Input, Output>(
  name: string,
  optionsOrFn: WorkflowOptions | WorkflowFunction<Input, Output>,
  maybeFn?: WorkflowFunction<Input, Output>,
): Workflow<Input, Output> {
  const options: WorkflowOptions = typeof optionsOrFn === 'function' ? {} : optionsOrFn ?? {};
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InvalidDefinitionError(
      `workflow name ${JSON.stringify(name)} is invalid: use 1–128 letters, digits and _ . : / - (no "@"), starting with a letter or digit`,
    );
  }
  if (typeof fn !== 'function') {
    throw new InvalidDefinitionError(`workflow "${name}" has no function: defineWorkflow(name, [options,] async (ctx, input) => …)`);
  }
  const version = options.version ?? '1';
  if (typeof version !== 'string' || !NAME_PATTERN.test(version)) {
    throw new InvalidDefinitionError(`workflow "${name}" has an invalid version ${JSON.stringify(version)}`);
  }
  const checkpoint = options.checkpoint ?? 'every-step';
  if (
    checkpoint !== 'every-step' &&
    checkpoint !== 'marked' &&
    !(typeof checkpoint === 'object' && Number.isInteger(checkpoint.every) && checkpoint.every >= 1)
  ) {
    throw new InvalidDefinitionError(
      `workflow "${name}" has an invalid checkpoint policy ${JSON.stringify(checkpoint)}: use 'every-step', 'marked' or { every: N }`,
    );
  }
  const retry = resolveRetryPolicy(DEFAULT_RETRY_POLICY, options.retry, `workflow "${name}"`);
  if (options.classify !== undefined && typeof options.classify !== 'function') {
    throw new InvalidDefinitionError(`workflow "${name}": classify must be a function (error) => 'TRANSIENT' | 'PERMANENT' | 'PARTIAL' | undefined`);
  }
  if (options.timeoutMs !== undefined && !isPositiveDuration(options.timeoutMs)) {
    throw new InvalidDefinitionError(`workflow "${name}": timeoutMs must be a positive finite number of milliseconds, got ${String(options.timeoutMs)}`);
  }
  if (options.queue !== undefined && !isQueue(options.queue)) {
    if (typeof options.queue !== 'string') {
      throw new InvalidDefinitionError(`workflow "${name}": queue must be a queue from defineQueue() or a queue name`);
    }
    checkQueueName(options.queue, InvalidDefinitionError);
  }
  const retentionProblem = options.retention === undefined ? undefined : retentionPolicyProblem(options.retention);
  if (retentionProblem !== undefined) throw new InvalidDefinitionError(`workflow "${name}": ${retentionProblem}`);
  return Object.freeze({
    name,
    version,
    key: `${name}@${version}`,
    checkpoint,
    retry,
    classify: options.classify,
    durability: options.durability === undefined ? DEFAULT_DURABILITY : parseDurability(options.durability, `workflow "${name}"`),
    timeoutMs: options.timeoutMs,
    queue: options.queue,
    retention: options.retention === undefined ? undefined : Object.freeze({ ...options.retention }),
    fn,
    kind: 'aries.workflow' as const,
  });
}
