/**
 * Which executions a chaos run starts, drawn from its seed: four in ten chaos-steps, three in ten
 * chaos-transfer, three in ten chaos-saga (four in ten of those fail and compensate), each with a pause of
 * 0 to 30 ms inside its plain steps; and how each must end.
 */
import type { SeededRandom } from '../../test/helpers/seeded-random.js';
import { SAGA_WORKFLOW, STEPS_WORKFLOW, TRANSFER_WORKFLOW, type ChaosInput, type ChaosWorkflowName } from './workflows.js';

export interface PlannedExecution {
  n: number;
  workflow: ChaosWorkflowName;
  input: ChaosInput;
  /** The status it must end in. */
  expected: 'COMPLETED' | 'COMPENSATED';
  idempotencyKey: string;
}

export function planExecutions(count: number, random: SeededRandom): PlannedExecution[] {
  return Array.from({ length: count }, (_, n) => {
    const x = random.next();
    const workflow: ChaosWorkflowName = x < 0.4 ? STEPS_WORKFLOW : x < 0.7 ? TRANSFER_WORKFLOW : SAGA_WORKFLOW;
    const fail = workflow === SAGA_WORKFLOW && random.next() < 0.4;
    const input: ChaosInput = { n, pauseMs: random.int(0, 30), ...(workflow === SAGA_WORKFLOW ? { fail } : {}) };
    return { n, workflow, input, expected: fail ? 'COMPENSATED' : 'COMPLETED', idempotencyKey: `chaos-${random.seed}-${n}` };
  });
}
