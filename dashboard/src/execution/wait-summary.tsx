/**
 * One line saying what a wait waits for, under its row in the step timeline: a sleep until when, a signal
 * wait for which signal and since when (with a button to send it while the wait is open), a child with a
 * link to its execution and its status; each with its timeout, if it has one.
 */
import type { Step, StepWait } from '../api/types';
import type { ActionOutcome } from '../components/action-result';
import { StatusBadge } from '../components/badges';
import { formatAge, formatTime } from '../components/format';
import { href } from '../hooks/use-route';
import { SendSignal } from './send-signal';

interface Props {
  executionId: string;
  step: Step & { wait: StepWait };
  /** The execution is still live: an open signal wait offers to send its signal. */
  live: boolean;
  onSignalSent: (result: ActionOutcome) => void;
}

export function WaitSummary({ executionId, step, live, onSignalSent }: Props) {
  const w = step.wait;
  const open = step.status === 'WAITING';
  const timeout = w.timeoutAt && (
    <span className="muted" data-testid="wait-timeout">
      {' '}
      · {open ? 'times out' : 'timeout'} {formatTime(w.timeoutAt)}
    </span>
  );
  const ended = !open && <Ending step={step} />;
  return (
    <div className="timeline-wait small" data-testid="step-wait" data-step={step.key} data-kind={w.kind} data-open={open}>
      {w.kind === 'sleep' && (
        <span>
          {open ? 'Sleeping until' : 'Slept until'}{' '}
          <strong data-testid="wait-until" data-at={w.until ?? ''}>
            {formatTime(w.until)}
          </strong>
          {open && w.until && <span className="muted"> ({formatAge(w.until)})</span>}
          {ended}
        </span>
      )}
      {w.kind === 'signal' && (
        <span>
          {open ? 'Waiting for signal' : 'Waited for signal'}{' '}
          <code data-testid="wait-signal">{w.signal}</code> since{' '}
          <span data-testid="wait-since" data-at={w.since}>
            {formatTime(w.since)}
          </span>
          {timeout}
          {ended}
        </span>
      )}
      {w.kind === 'child' && (
        <span>
          Child{' '}
          {w.childId ? (
            <a className="mono" href={href(`/executions/${w.childId}`)} data-testid="wait-child-link" data-id={w.childId}>
              {w.childId}
            </a>
          ) : (
            '—'
          )}{' '}
          {w.childStatus && <StatusBadge status={w.childStatus} testId="wait-child-status" />}{' '}
          <span className="muted">since {formatTime(w.since)}</span>
          {timeout}
          {ended}
        </span>
      )}
      {w.kind === 'signal' && open && live && (
        <SendSignal executionId={executionId} name={w.signal ?? ''} onSent={onSignalSent} small />
      )}
    </div>
  );
}

/** How a settled wait ended: when, and whether it timed out or was cancelled. */
function Ending({ step }: { step: Step & { wait: StepWait } }) {
  const at = step.wait.settledAt ?? step.endedAt;
  const how =
    step.status === 'CANCELLED'
      ? 'cancelled'
      : step.error?.code === 'WAIT_TIMEOUT'
        ? 'timed out'
        : step.status === 'FAILED'
          ? 'failed'
          : step.wait.kind === 'signal'
            ? 'received'
            : step.wait.kind === 'sleep'
              ? 'woke'
              : 'ended';
  return (
    <span className="muted" data-testid="wait-ended" data-how={how}>
      {' '}
      · {how} {formatTime(at)}
    </span>
  );
}
