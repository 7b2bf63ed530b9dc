/**
 * OpenTelemetry spans for executions, steps and waits, through the standard @opentelemetry/api: a no-op
 * until the application registers an SDK (a TracerProvider). One span per run of an execution on a worker
 * ("aries.execution", ended with its outcome) and, inside it, one per step a worker actually runs
 * ("aries.step"; replayed steps run nothing and get none), with the attempt and, on failure, the failure type.
 *
 * A wait ("aries.wait": a sleep, a signal wait, a child) spans from when it began to when it settled or was
 * cancelled, both on the database clock (aries.waits created_at and resolved_at), however many runs it
 * was suspended across; it is recorded by the run that settles it, inside that run's span, with its kind,
 * key, signal name or child id, wake time or timeout, and outcome. A wait settled by replay gets none.
 */
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FailureType } from '../core/failure-classification.js';

const TRACER = 'aries';

export function startExecutionSpan(attrs: { workflow: string; version: string; executionId: string; claimCount: number }): Span {
  return trace.getTracer(TRACER).startSpan('aries.execution', {
    attributes: {
      'aries.workflow': attrs.workflow,
      'aries.workflow_version': attrs.version,
      'aries.execution_id': attrs.executionId,
      'aries.claim_count': attrs.claimCount,
    },
  });
}

export function endExecutionSpan(span: Span, outcome: string, replayed: number, run: number): void {
  span.setAttributes({ 'aries.outcome': outcome, 'aries.steps_replayed': replayed, 'aries.steps_run': run });
  if (outcome === 'failed' || outcome === 'compensated') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}

export function startStepSpan(
  parent: Span | undefined,
  attrs: { workflow: string; executionId: string; stepKey: string; attempt: number; transactional: boolean },
): Span {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  return trace.getTracer(TRACER).startSpan(
    'aries.step',
    {
      attributes: {
        'aries.workflow': attrs.workflow,
        'aries.execution_id': attrs.executionId,
        'aries.step_key': attrs.stepKey,
        'aries.attempt': attrs.attempt,
        'aries.transactional': attrs.transactional,
      },
    },
    ctx,
  );
}

/** Ends a step's span: completed, or failed with its failure type (and whether a retry was scheduled). */
export function endStepSpan(span: Span, failure?: { error: unknown; type: FailureType; retrying: boolean }): void {
  if (failure) {
    span.setAttributes({ 'aries.failure_type': failure.type, 'aries.retrying': failure.retrying });
    if (failure.error instanceof Error) span.recordException(failure.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.error instanceof Error ? failure.error.message : String(failure.error) });
  }
  span.end();
}

/** How a wait ended: its event came, its timeout came first, its child failed, or it was cancelled (a lost race). */
export type WaitSpanOutcome = 'completed' | 'timed_out' | 'failed' | 'cancelled';

/** Records a wait that ended as one span from `startTime` to `endTime` (see above). */
export function recordWaitSpan(
  parent: Span | undefined,
  wait: {
    workflow: string;
    executionId: string;
    stepKey: string;
    kind: 'sleep' | 'signal' | 'child';
    signalName: string | null;
    childExecutionId: string | null;
    /** A sleep's wake time, or a signal or child wait's timeout (null: none). */
    wakeAt: Date | null;
    outcome: WaitSpanOutcome;
    message?: string | undefined;
  },
  startTime: Date,
  endTime: Date,
): void {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const attributes: Record<string, string> = {
    'aries.workflow': wait.workflow,
    'aries.execution_id': wait.executionId,
    'aries.step_key': wait.stepKey,
    'aries.wait_kind': wait.kind,
    'aries.outcome': wait.outcome,
  };
  if (wait.signalName !== null) attributes['aries.signal_name'] = wait.signalName;
  if (wait.childExecutionId !== null) attributes['aries.child_execution_id'] = wait.childExecutionId;
  if (wait.wakeAt !== null && Number.isFinite(wait.wakeAt.getTime())) {
    attributes[wait.kind === 'sleep' ? 'aries.wake_at' : 'aries.timeout_at'] = wait.wakeAt.toISOString();
  }
  const span = trace.getTracer(TRACER).startSpan('aries.wait', { attributes, startTime }, ctx);
  if (wait.outcome === 'timed_out' || wait.outcome === 'failed') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: wait.message ?? wait.outcome });
  }
  span.end(endTime < startTime ? startTime : endTime);
}
