/**
 * What one run of an execution is given by its runner: the database and lease, the workflow, its replay
 * log, the mode, the stop signals and limits, the write batcher, its span and metric series. Its own file
 * so that what a run holds (run-state.ts) and the parts that hold a run (wait-coordinator.ts) can both name it.
 */
import type { Span } from '@opentelemetry/api';
import type { WorkflowSeries } from '../../core/aries-metrics.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import type { StoredErrorPolicy } from '../../core/stored-error.js';
import type { Database } from '../../db/database.js';
import type { Lease } from '../../db/leases.js';
import type { Workflow } from '../../sdk/types/workflow.js';
import type { ReplayLog } from '../run/replay-log.js';
import type { ConfirmLease } from '../lease-confirmation.js';
import type { StepWriter } from '../step-write-batcher.js';

export interface RunStateDeps {
  db: Database;
  lease: Lease;
  workflow: Workflow;
  replay: ReplayLog;
  /** 'compensating': replay only, to find compensations; unwind at the first step with no outcome. */
  mode: 'forward' | 'compensating';
  signal: AbortSignal;
  /** Asked before each step body and transactional step starts (lease-confirmation.ts). */
  confirmLease?: ConfirmLease | undefined;
  /** Before a transactional step's transaction: keeps the heartbeat off the execution's row until released. */
  holdRenewals?: (() => Promise<() => void>) | undefined;
  shouldYield: () => boolean;
  maxPayloadBytes: number;
  storedErrors?: StoredErrorPolicy | undefined;
  /** Encodes every payload written and decodes every one read (the engine's codec option). */
  codec?: PayloadCodec | undefined;
  writer: StepWriter;
  flushDelayMs?: number | undefined;
  /** The execution's span: each attempt gets a child span. */
  span?: Span | undefined;
  /** The workflow's metric series: each attempt run here is counted and timed (replays are not). */
  metrics?: WorkflowSeries | undefined;
}
