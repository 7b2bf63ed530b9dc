/**
 * The `ctx` a workflow function receives: a thin face over the run's state. Each method is one primitive
 * run through the shared skeleton (attempt.ts); what a primitive does differently is in its own file under
 * primitives/.
 */
import type {
  ChildOptions,
  ChildWorkflow,
  SignalWaitOptions,
  StepContext,
  StepOptions,
  TransactionContext,
  TransactionOptions,
  WorkflowContext,
} from '../../sdk/types/workflow-context.js';
import { runPrimitive } from './attempt.js';
import { childPrimitive } from './primitives/child.js';
import { signalWaitPrimitive } from './primitives/signal-wait.js';
import { sleepPrimitive } from './primitives/sleep.js';
import { stepPrimitive } from './primitives/step.js';
import { transactionPrimitive } from './primitives/transaction.js';
import type { RunState } from './run-state.js';
import { runWait } from './wait.js';

export class WorkflowContextImpl implements WorkflowContext {
  readonly executionId: string;
  readonly workflow: string;
  readonly version: string;
  readonly #run: RunState;
  /** Waits for each signal name so far, for the default key `signal:<name>:<n>`. */
  readonly #signalWaits = new Map<string, number>();

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

  sleep(key: string, ms: number): Promise<void> {
    return runWait(this.#run, sleepPrimitive, key, { ms });
  }

  sleepUntil(key: string, at: Date): Promise<void> {
    return runWait(this.#run, sleepPrimitive, key, { until: at });
  }

  waitForSignal<T = unknown>(name: string, options: SignalWaitOptions = {}): Promise<T> {
    let key = options.key;
    if (key === undefined && typeof name === 'string') {
      const n = (this.#signalWaits.get(name) ?? 0) + 1;
      this.#signalWaits.set(name, n);
      key = `signal:${name}:${n}`;
    }
    return runWait(this.#run, signalWaitPrimitive, key ?? '', { name, timeoutMs: options.timeoutMs });
  }

  child<I, O>(key: string, workflow: ChildWorkflow<I, O>, input: I, options: ChildOptions = {}): Promise<O> {
    const spec = { workflow: workflow as unknown as ChildWorkflow<unknown, unknown>, input, timeoutMs: options.timeoutMs, parentClose: options.parentClose };
    return runWait(this.#run, childPrimitive, key, spec);
  }
}
