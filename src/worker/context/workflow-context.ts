/**
 * The `ctx` a workflow function receives: a thin face over the run's state. Each method is one primitive
 * run through the shared skeleton (attempt.ts); what a primitive does differently is in its own file under
 * primitives/.
 */
import type {
  StepContext,
  StepOptions,
  TransactionContext,
  TransactionOptions,
  WorkflowContext,
} from '../../sdk/types/workflow-context.js';
import { runPrimitive } from './attempt.js';
import { stepPrimitive } from './primitives/step.js';
import { transactionPrimitive } from './primitives/transaction.js';
import type { RunState } from './run-state.js';

export class WorkflowContextImpl implements WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  readonly #run: RunState;

  constructor(run: RunState) {
    this.#run = run;
    this.executionId = run.executionId;
    this.workflow = run.deps.workflow.name;
    this.version = run.deps.workflow.version;
  }

  step<T>(key: string, fn: (step: StepContext) => T | Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    return runPrimitive(this.#run, stepPrimitive, key, fn, options as StepOptions<never>) as Promise<T>;
  }

  transaction<T>(key: string, fn: (tx: TransactionContext) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
    return runPrimitive(this.#run, transactionPrimitive, key, fn, options as TransactionOptions<never>) as Promise<T>;
  }
}
