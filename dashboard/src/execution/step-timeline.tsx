/**
 * Steps as a timeline: one bar per step from startedAt to when it ended (completed, failed: its step_failed
 * record, cancelled, a wait settled; a running step or an open wait reaches "now"), with its attempts and
 * retries (failure markers at their failure records' times); a wait
 * (sleep, signal, child) says under its row what it waits for (wait-summary.tsx). A row opens to show the
 * step's output or error. Compensations are listed in the order they run, the reverse of the steps'
 * completion, each with its step's completion time and its own.
 */
import { useState } from 'react';
import type { Execution, Failure, Step, StepWait } from '../api/types';
import type { ActionOutcome } from '../components/action-result';
import { StatusBadge } from '../components/badges';
import { formatDuration, formatTime } from '../components/format';
import { ErrorView } from '../components/error-view';
import { JsonView } from '../components/json-view';
import { WaitSummary } from './wait-summary';

const ms = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() : undefined);

interface Props {
  execution: Execution;
  steps: Step[];
  /** Drawn as markers on their step's row: the attempts that failed before the one the bar shows. */
  failures: Failure[];
  onShowAll: () => void;
  /** A signal was sent from an open wait's row: show the answer, read the execution again. */
  onSignalSent: (result: ActionOutcome) => void;
}

const KIND_LABELS: Record<Step['kind'], string | undefined> = {
  step: undefined,
  transaction: 'transaction',
  sleep: 'sleep',
  signal: 'signal',
  child: 'child',
};

const hasWait = (s: Step): s is Step & { wait: StepWait } => s.wait !== null;

export function StepTimeline({ execution, steps, failures, onShowAll, onSignalSent }: Props) {
  const [open, setOpen] = useState<string | null>(null);
  const now = Date.now();
  const live = !execution.finishedAt;
  const starts = steps.map((s) => ms(s.startedAt) ?? now);
  // A step still running (or an open wait) reaches "now"; one that stopped ends when it did: a FAILED
  // step at its step_failed record (endedAt), never at its failure row, which an execution that went on
  // past the caught error records later, over the steps that followed.
  const running = (s: Step) => live && (s.status === 'RUNNING' || s.status === 'RETRYING' || s.status === 'WAITING');
  const ends = steps.map((s, i) => ms(s.completedAt) ?? ms(s.endedAt) ?? (running(s) ? now : starts[i]!));
  const failureTimes = failures.filter((f) => f.stepKey !== null).map((f) => ms(f.at) ?? now);
  const t0 = Math.min(ms(execution.startedAt) ?? Infinity, ...starts, ...failureTimes);
  const t1 = Math.max(ms(execution.finishedAt) ?? -Infinity, ...ends, ...failureTimes);
  const span = Math.max(1, t1 - t0);
  const compensations = steps
    .filter((s) => s.compensationStatus !== null)
    .sort((a, b) => (ms(b.completedAt) ?? 0) - (ms(a.completedAt) ?? 0) || b.seq - a.seq);

  if (steps.length === 0) return <p className="muted">No steps yet.</p>;
  return (
    <>
      <div className="timeline" data-testid="step-timeline">
        <div className="timeline-scale muted small">
          <span>{formatTime(new Date(t0).toISOString())}</span>
          <span>{formatDuration(span)}</span>
        </div>
        {steps.map((s, i) => {
          const left = ((starts[i]! - t0) / span) * 100;
          const width = Math.max(0.6, ((ends[i]! - starts[i]!) / span) * 100);
          const retries = Math.max(0, s.attempt - 1);
          return (
            <div key={s.key} className="timeline-item">
              <button
                type="button"
                className="timeline-row"
                onClick={() => setOpen(open === s.key ? null : s.key)}
                data-testid="step-row"
                data-step={s.key}
                data-status={s.status}
                aria-expanded={open === s.key}
              >
                <span className="timeline-label">
                  <span className="muted">{s.seq}.</span> <span className="mono" title={s.key}>{s.key}</span>
                </span>
                <span className="timeline-meta">
                  {KIND_LABELS[s.kind] && (
                    <span className={`kind kind-wait kind-${s.kind}`} data-testid="step-kind">
                      {KIND_LABELS[s.kind]}
                    </span>
                  )}
                  <StatusBadge status={s.status} />
                  <span className="muted small" data-testid="step-attempts">
                    attempt {s.attempt}
                    {retries > 0 && ` · ${retries} ${retries === 1 ? 'retry' : 'retries'}`}
                  </span>
                </span>
                <span className="timeline-track">
                  <span
                    className={`timeline-bar bar-${s.status.toLowerCase()}`}
                    data-testid="step-bar"
                    data-start={new Date(starts[i]!).toISOString()}
                    data-end={new Date(ends[i]!).toISOString()}
                    style={{ left: `${Math.min(left, 99.4)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.4))}%` }}
                    title={`${formatTime(s.startedAt)} → ${formatTime(s.completedAt ?? s.endedAt)}`}
                  />
                  {failures
                    .filter((f) => f.stepKey === s.key)
                    .map((f) => (
                      <span
                        key={f.id}
                        className={`timeline-failure failure-mark-${f.type.toLowerCase()}`}
                        style={{ left: `${(((ms(f.at) ?? now) - t0) / span) * 100}%` }}
                        title={`attempt ${f.attempt ?? '?'} failed ${f.type} at ${formatTime(f.at)}: ${f.message}`}
                        data-testid="step-failure-marker"
                      />
                    ))}
                </span>
                <span className="timeline-duration muted small" data-testid="step-duration">
                  {running(s) && !s.completedAt ? runningLabel(s) : formatDuration(ends[i]! - starts[i]!)}
                </span>
              </button>
              {hasWait(s) && <WaitSummary executionId={execution.id} step={s} live={live} onSignalSent={onSignalSent} />}
              {open === s.key && (
                <div className="timeline-detail">
                  {s.error && (
                    <>
                      <h4>Error</h4>
                      <ErrorView error={s.error} onShowAll={onShowAll} />
                    </>
                  )}
                  <h4>Output</h4>
                  <JsonView value={s.output} onShowAll={onShowAll} compact testId={`step-output-${s.key}`} />
                </div>
              )}
            </div>
          );
        })}
      </div>
      {compensations.length > 0 && (
        <div className="compensations" data-testid="compensations">
          <h3>Compensations</h3>
          <table className="table table-compact">
            <thead>
              <tr>
                <th>#</th>
                <th>Step</th>
                <th>Status</th>
                <th>Step completed</th>
                <th>Compensated</th>
              </tr>
            </thead>
            <tbody>
              {compensations.map((s, i) => (
                <tr key={s.key} data-testid="compensation-row" data-step={s.key}>
                  <td>{i + 1}</td>
                  <td className="mono">{s.key}</td>
                  <td>
                    <StatusBadge status={s.compensationStatus ?? ''} />
                  </td>
                  <td data-testid="compensation-step-completed">{formatTime(s.completedAt)}</td>
                  <td data-testid="compensation-completed">{formatTime(s.compensatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** What a step that has not ended is doing. */
function runningLabel(s: Step): string {
  if (s.status !== 'WAITING') return 'running';
  return s.kind === 'sleep' ? 'sleeping' : 'waiting';
}
