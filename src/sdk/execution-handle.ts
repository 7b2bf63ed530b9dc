/** A reference to one execution: its id, and a way to wait for its result. */
import type { Database } from '../db/database.js';
import type { Execution } from '../db/rows.js';
import { getExecution } from '../db/executions.js';
import { getRetainedExecution } from '../db/retention.js';
import type { PayloadCodec } from '../core/payload-codec.js';
import { decodeExecution } from './stored-payloads.js';
import {
  ExecutionCancelledError,
  ExecutionCompensatedError,
  ExecutionFailedError,
  ExecutionNotFoundError,
  ExecutionPurgedError,
  TimeoutError,
} from '../errors.js';

/** Statuses at which result() stops waiting. FAILED can still be recovered, but it is an answer. */
const SETTLED = new Set(['COMPLETED', 'SUB_COMMITTED', 'FAILED', 'COMPENSATED', 'CANCELLED']);

export interface ResultOptions {
  /** Give up after this long (default: wait indefinitely). */
  timeoutMs?: number;
}

export class ExecutionHandle<Output = unknown> {
  constructor(
    readonly id: string,
    /** False when an idempotency key matched an execution started earlier. */
    readonly created: boolean,
    private readonly db: Database,
    /** Subscribes to "a worker in this process settled this execution"; returns the unsubscribe. */
    private readonly onSettledHere: (id: string, fn: () => void) => () => void,
    /** True when a debounced start gave its input to the PENDING execution under its key (created is false). */
    readonly debounced = false,
    private readonly codec?: PayloadCodec,
  ) {}

  /** The execution as stored; ExecutionPurgedError once retention deleted it but kept its key, else ExecutionNotFoundError. */
  async status(): Promise<Execution> {
    return decodeExecution(await this.read(), this.codec);
  }

  /** The execution as stored, its payloads not decoded yet. */
  private async read(): Promise<Execution> {
    const execution = await getExecution(this.db, this.id);
    if (execution) return execution;
    // Retention may have deleted its body and kept its key (a start under the key returned this handle).
    const retained = await getRetainedExecution(this.db, this.id);
    if (retained) throw new ExecutionPurgedError(this.id, retained.status, retained.finishedAt);
    throw new ExecutionNotFoundError(`execution ${this.id} not found`);
  }

  /**
   * Waits until the execution settles: its output if COMPLETED, an ExecutionCompensatedError if it was
   * compensated, an ExecutionCancelledError if an operator cancelled it, else an ExecutionFailedError.
   */
  async result(options: ResultOptions = {}): Promise<Output> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    // A worker of this process wakes us at once; polling (backing off to 1 s) covers other processes.
    let wake: (() => void) | undefined;
    let woken = false;
    const unsubscribe = this.onSettledHere(this.id, () => {
      woken = true;
      wake?.();
    });
    try {
      let delay = 10;
      for (;;) {
        const stored = await this.read();
        if (SETTLED.has(stored.status)) {
          // decoded once settled: an input is not decoded again at every poll
          const { input: _input, ...settled } = stored;
          const execution = await decodeExecution(settled, this.codec);
          // SUB_COMMITTED: a child that completed while its parent has not; its output is its result.
          if (execution.status === 'COMPLETED' || execution.status === 'SUB_COMMITTED') return execution.output as Output;
          if (execution.status === 'COMPENSATED') throw new ExecutionCompensatedError(this.id, execution.error);
          if (execution.status === 'CANCELLED') throw new ExecutionCancelledError(this.id, execution.error);
          throw new ExecutionFailedError(
            this.id,
            execution.error ?? { name: execution.status, message: `execution ended ${execution.status}` },
          );
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`execution ${this.id} is still ${stored.status} after ${options.timeoutMs} ms`);
        if (!woken) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(delay, left));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        woken = false;
        delay = Math.min(delay * 2, 1_000);
      }
    } finally {
      unsubscribe();
    }
  }
}
