/**
 * Signals the engine throws through a workflow function to unwind it. They are not the workflow's to
 * handle: once one is raised, every later ctx.step() raises it again, and the runner acts on it even if
 * the workflow caught it and returned.
 */
import type { FaultSource } from '../core/failure-classification.js';

/** The worker stops taking new steps (graceful shutdown): the execution is handed back before its next step. */
export class YieldSignal extends Error {
  constructor() {
    super('the worker is shutting down; the execution is handed back before its next step');
    this.name = 'YieldSignal';
  }
}

/** A step failed TRANSIENTLY with attempts left: the execution waits for a durable retry timer. */
export class RetrySignal extends Error {
  constructor(
    readonly retry: { seq: number; stepKey: string; attempt: number; error: unknown; delayMs: number; source: FaultSource },
  ) {
    super(`step "${retry.stepKey}" failed transiently (attempt ${retry.attempt}); retrying in ${retry.delayMs} ms`);
    this.name = 'RetrySignal';
  }
}

/**
 * The execution is COMPENSATING: its workflow function is replayed only to find the compensations of its
 * completed steps, and unwound at the first position with no recorded outcome.
 */
export class CompensationUnwind extends Error {
  constructor() {
    super('the execution is compensating: no new step runs');
    this.name = 'CompensationUnwind';
  }
}
