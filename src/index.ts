export { createEngine, Engine } from './sdk/engine.js';
export type { EngineOptions, StartManyOptions, StartOptions } from './sdk/engine.js';
export { EngineAdmin } from './sdk/engine-admin.js';
export type { ExecutionDetail, JournalPage, JournalReadOptions, FailurePage, ScheduleDetail } from './sdk/engine-admin.js';
export type { ScheduleOptions } from './sdk/schedule-options.js';
export type { Schedule, ScheduleSlot, ScheduleSlotStatus } from './db/schedules.js';
export type { MisfirePolicy } from './core/schedule-slots.js';
export { defineWorkflow, isWorkflow } from './sdk/define-workflow.js';
export { defineQueue, isQueue } from './sdk/define-queue.js';
export type { Queue, QueueLimits, QueueOptions } from './sdk/define-queue.js';
export type { QueueChange, QueueInfo } from './db/queues.js';
export type { WorkerInfo } from './db/workers.js';
export type { WorkerStatus } from './core/worker-statuses.js';
export type { Workflow, WorkflowOptions, WorkflowFunction, CheckpointPolicy } from './sdk/define-workflow.js';
export { ExecutionHandle } from './sdk/execution-handle.js';
export type { ResultOptions } from './sdk/execution-handle.js';
export { Worker } from './worker/worker.js';
export type { WorkerOptions, WorkerStats } from './worker/worker.js';
export type {
  WorkflowContext,
  StepContext,
  StepOptions,
  Compensation,
  CompensationContext,
  TransactionContext,
  TransactionOptions,
  TransactionCompensation,
  WaitOptions,
  SignalWaitOptions,
  ChildOptions,
  ChildWorkflow,
} from './sdk/types/workflow-context.js';
export type { TransactionClient, PGliteTransactionClient, ClientQueryConfig, ClientQueryResult, ClientField } from './sdk/types/transaction-client.js';
export type { Durability, IsolationLevel } from './core/durability.js';
export { DURABILITY_CLASSES, ISOLATION_LEVELS } from './core/durability.js';
export type { Execution, Step, JournalRecord, Failure } from './db/rows.js';
export type { FailureType, FaultSource, ErrorClassifier } from './core/failure-classification.js';
export { classifyError } from './core/failure-classification.js';
export type { RetryPolicy, RetryOptions, Backoff, Jitter } from './core/retry-policy.js';
export type { RetentionPolicy, StoredRetentionPolicy } from './core/retention-policy.js';
export type { PurgeResult } from './db/retention.js';
export type { PurgeRecord } from './db/purges.js';
export { DEFAULT_RETRY_POLICY, retryDelayMs } from './core/retry-policy.js';
export type { ExecutionStatus } from './core/execution-states.js';
export { EXECUTION_STATUSES, EXECUTION_TRANSITIONS } from './core/execution-states.js';
export type { StoredError } from './core/stored-error.js';
export type { PayloadCodec, PayloadContext, PayloadKind, EncodedPayload } from './core/payload-codec.js';
export { aesGcmCodec, AES_GCM_CODEC } from './core/aes-gcm-codec.js';
export type { AesGcmCodecOptions } from './core/aes-gcm-codec.js';
export { METRICS_CONTENT_TYPE, MetricsRegistry } from './core/metrics-registry.js';
export type { Counter, Gauge, Histogram } from './core/metrics-registry.js';
export type { AriesMetrics } from './core/aries-metrics.js';
export type { JsonValue } from './core/json-value.js';
export * from './errors.js';
