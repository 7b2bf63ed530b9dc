/**
 * The execution state machine, as the specification the database enforces. The migration holds the same
 * table (aries.execution_transitions) and a trigger that refuses any other transition; a test keeps the
 * two equal.
 */

export const EXECUTION_STATUSES = [
  'PENDING',
  'RUNNING',
  'SLEEPING',
  'WAITING',
  'COMPLETED',
  'FAILED',
  'COMPENSATING',
  'COMPENSATED',
  'CANCELLED',
  'SUB_COMMITTED',
] as const;

export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['COMPLETED', 'COMPENSATED', 'CANCELLED']);

/** from → the statuses it may move to. Re-claiming a RUNNING execution whose lease expired is not a
 *  transition (the status stays RUNNING; the fencing token changes). */
export const EXECUTION_TRANSITIONS: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  PENDING: ['RUNNING', 'CANCELLED'],
  RUNNING: ['PENDING', 'SLEEPING', 'WAITING', 'COMPLETED', 'FAILED', 'COMPENSATING', 'CANCELLED', 'SUB_COMMITTED'],
  SLEEPING: ['RUNNING', 'CANCELLED', 'COMPENSATING'],
  WAITING: ['RUNNING', 'CANCELLED', 'COMPENSATING'],
  COMPLETED: [],
  FAILED: ['PENDING', 'COMPENSATING', 'CANCELLED'],
  COMPENSATING: ['COMPENSATED', 'FAILED', 'CANCELLED'],
  COMPENSATED: [],
  CANCELLED: [],
  /** A child that completed while its parent has not: it commits with the parent or is compensated with it. */
  SUB_COMMITTED: ['COMPLETED', 'COMPENSATING'],
};

export function isExecutionStatus(value: string): value is ExecutionStatus {
  return (EXECUTION_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return EXECUTION_TRANSITIONS[from].includes(to);
}

/** RETRYING: failed TRANSIENTLY, its retry is due later. ROLLED_BACK: voided by a rollback to a checkpoint;
 *  it runs again when the execution resumes. WAITING: an open wait (sleep, signal, child). CANCELLED: stopped
 *  by a cancel, or a wait that lost a race. */
export const STEP_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'RETRYING', 'ROLLED_BACK', 'WAITING', 'CANCELLED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
