/** What running an execution needs from its worker: the database, the write batcher, the stop signals, hooks. */
import type { WorkflowSeries } from '../../core/aries-metrics.js';
import type { PayloadCodec } from '../../core/payload-codec.js';
import type { StoredErrorPolicy } from '../../core/stored-error.js';
import type { Database } from '../../db/database.js';
import type { ConfirmLease } from '../lease-confirmation.js';
import type { StepWriter } from '../step-write-batcher.js';
import type { ReplayLog } from './replay-log.js';

export interface RunDeps {
  db: Database;
  writer: StepWriter;
  maxPayloadBytes: number;
  /** How errors are stored: stacks or none, the redaction hook. */
  storedErrors?: StoredErrorPolicy | undefined;
  /** Encodes every payload written and decodes every one read (the engine's codec option). */
  codec?: PayloadCodec | undefined;
  shouldYield: () => boolean;
  signal: AbortSignal;
  /** Asked before each step body, transactional step and compensation (none: the lease is trusted as claimed). */
  confirmLease?: ConfirmLease;
  /** Before a transactional step's transaction: keeps the heartbeat off the execution's row until released. */
  holdRenewals?: () => Promise<() => void>;
  /** How long the end of a run waits for parallel steps still running. */
  settleTimeoutMs: number;
  onStepsRun?: (run: number, replayed: number) => void;
  onStorageFault?: (err: unknown) => void;
  onAnalysis?: (replay: ReplayLog) => void;
  /** The execution was suspended to wait, due in this many ms by the database clock (null: only an event wakes it). */
  onSuspended?: (dueInMs: number | null) => void;
  /** The workflow's metric series: step attempts, failures and durations are counted there. */
  metrics?: WorkflowSeries;
  /** A completion waits at most this long for the next transition before it is written on its own. */
  flushDelayMs?: number;
}
