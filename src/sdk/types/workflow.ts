/**
 * The public types of a workflow definition: what `defineWorkflow` takes and what it returns. Types and
 * the brand check only, so the worker can run definitions without importing the SDK's implementation.
 */
import type { Durability } from '../../core/durability.js';
import type { ErrorClassifier } from '../../core/failure-classification.js';
import type { RetentionPolicy } from '../../core/retention-policy.js';
import type { RetryOptions, RetryPolicy } from '../../core/retry-policy.js';
import type { Queue } from './queue.js';
import type { WorkflowContext } from './workflow-context.js';

/** When a completed step also writes a checkpoint (a snapshot that bounds recovery). */
export type CheckpointPolicy = 'every-step' | 'marked' | { every: number };

export interface WorkflowOptions {
  /** Executions keep the version they started with; workers only run versions they have. Default '1'. */
  version?: string;
  /** Default: every step, as the source model checkpoints when a task completes. */
  checkpoint?: CheckpointPolicy;
  /** How TRANSIENT step errors are retried (a step may override it). Default: 3 attempts, 1 s doubling to 60 s, full jitter. */
  retry?: RetryOptions;
  /** Classifies a step's error before the built-in rules: 'TRANSIENT', 'PERMANENT', 'PARTIAL' or undefined. */
  classify?: ErrorClassifier;
  /** How durable a step's completion is before the next step runs (synchronous_commit). Default 'on'. */
  durability?: Durability;
  /**
   * The whole execution's deadline, from its start, on the database clock (a start may give its own).
   * Past it the execution ends FAILED with a TIMEOUT failure (ExecutionTimeoutError); compensations run as
   * for any PERMANENT failure after compensable steps, and unfinished children are cancelled.
   */
  timeoutMs?: number;
  /**
   * The queue its executions start in (a start may name another): a defineQueue() value, registered with
   * the workflow, or the name of a queue registered elsewhere (else starts fail with UnknownQueueError).
   */
  queue?: Queue | string;
  /**
   * How long its finished executions (and their idempotency keys) are kept; registered in the database
   * with the workflow, unless an operator set this workflow's policy (engine.admin.setRetention). Default:
   * the default policy, or for ever.
   */
  retention?: RetentionPolicy;
}

export type WorkflowFunction<Input, Output> = (ctx: WorkflowContext, input: Input) => Promise<Output>;

export interface Workflow<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly version: string;
  /** `name@version`, how workers and the database refer to one definition. */
  readonly key: string;
  readonly checkpoint: CheckpointPolicy;
  readonly retry: RetryPolicy;
  readonly classify: ErrorClassifier | undefined;
  readonly durability: Durability;
  /** The execution's deadline from its start (undefined: none). */
  readonly timeoutMs: number | undefined;
  /** The queue its definition names, as given (undefined: none). */
  readonly queue: Queue | string | undefined;
  /** Its retention policy (undefined: none of its own). */
  readonly retention: RetentionPolicy | undefined;
  readonly fn: WorkflowFunction<Input, Output>;
  /** Brand, so modules' exports can be told apart from other values. */
  readonly kind: 'aries.workflow';
}

export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'aries.workflow';
}
