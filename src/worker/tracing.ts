/**
 * OpenTelemetry spans for executions and steps, through the standard @opentelemetry/api: a no-op until the
 * application registers an SDK (a TracerProvider). One span per run of an execution on a worker
 * ("aries.execution", ended with its outcome) and, inside it, one per step a worker actually runs
 * ("aries.step"; replayed steps run nothing and get none), with the attempt and, on failure, the failure type.
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
