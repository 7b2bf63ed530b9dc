/**
 * Queues: per queue its depth (due, delayed), running and waiting executions, the oldest due one's age,
 * its limits and the rate used in the window; an operator edits the limits or pauses and resumes it,
 * each after a confirmation.
 */
import { useState } from 'react';
import { api } from '../api/client';
import type { Queue, QueueChange } from '../api/types';
import { ActionResult, failedOutcome, type ActionOutcome } from '../components/action-result';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ErrorBanner } from '../components/error-banner';
import { formatDuration } from '../components/format';
import { usePoll } from '../hooks/use-poll';
import { QueueLimitsDialog } from './queue-limits-dialog';

type Open = { kind: 'limits'; queue: Queue } | { kind: 'pause'; queue: Queue } | null;

const limit = (n: number | null) => (n === null ? '∞' : String(n));

function RateCell({ queue }: { queue: Queue }) {
  if (!queue.rateLimit) return <span className="muted">none</span>;
  return (
    <span data-testid="queue-rate">
      {queue.startedInWindow ?? 0} / {queue.rateLimit.limit} per {formatDuration(queue.rateLimit.periodMs)}
    </span>
  );
}

export function QueuesPage() {
  const queues = usePoll(() => api.get<{ queues: Queue[] }>('/api/queues'), 'queues', 3000);
  const [open, setOpen] = useState<Open>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ActionOutcome | null>(null);
  const rows = queues.data?.queues ?? [];

  const change = async (queue: Queue, body: QueueChange, done: string) => {
    setBusy(true);
    try {
      await api.patch<Queue>(`/api/queues/${encodeURIComponent(queue.name)}`, body);
      setResult({ kind: 'ok', text: done });
    } catch (err) {
      setResult(failedOutcome(err));
    } finally {
      setBusy(false);
      setOpen(null);
      queues.reload();
    }
  };

  return (
    <div data-testid="queues-page">
      <div className="page-head">
        <h1>Queues</h1>
      </div>
      <ErrorBanner error={queues.error} />
      <ActionResult result={result} onDismiss={() => setResult(null)} />
      <section className="panel panel-flush">
        <table className="table table-wrap-head" data-testid="queues-table">
          <thead>
            <tr>
              <th>Queue</th>
              <th className="num">Due</th>
              <th className="num">Delayed</th>
              <th className="num">Running</th>
              <th className="num">Waiting</th>
              <th>Oldest due</th>
              <th className="num">Concurrency</th>
              <th className="num">Per worker</th>
              <th className="num">Per key</th>
              <th>Rate used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((q) => (
              <tr key={q.name} data-testid="queue-row" data-queue={q.name}>
                <td>
                  <span className="mono">{q.name}</span>{' '}
                  {q.paused && (
                    <span className="badge flag-bad" data-testid="queue-paused">
                      PAUSED
                    </span>
                  )}
                  {q.source === 'operator' && (
                    <span className="badge" title="Set by an operator: a deploy keeps these limits">
                      operator
                    </span>
                  )}
                </td>
                <td className="num" data-testid="queue-pending">{q.pending}</td>
                <td className="num">{q.delayed}</td>
                <td className="num">{q.running}</td>
                <td className="num">{q.waiting}</td>
                <td>{q.oldestDueMs === null ? '—' : formatDuration(q.oldestDueMs)}</td>
                <td className="num" data-testid="queue-concurrency">{limit(q.concurrency)}</td>
                <td className="num" data-testid="queue-worker-concurrency">{limit(q.workerConcurrency)}</td>
                <td className="num" data-testid="queue-key-concurrency">{limit(q.keyConcurrency)}</td>
                <td>
                  <RateCell queue={q} />
                </td>
                <td className="row-actions">
                  <button type="button" className="btn btn-small" onClick={() => setOpen({ kind: 'limits', queue: q })} data-testid="queue-edit">
                    Edit limits
                  </button>{' '}
                  <button type="button" className="btn btn-small" onClick={() => setOpen({ kind: 'pause', queue: q })} data-testid="queue-pause">
                    {q.paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
              </tr>
            ))}
            {!queues.loading && rows.length === 0 && (
              <tr>
                <td colSpan={11} className="empty">
                  No queue is registered. A queue appears once a worker or a start registers its definition.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <p className="muted small">
        Due: PENDING and due now. Delayed: not due yet (a delay, a debounce, a retry&apos;s backoff). Running executions hold a slot;
        waiting ones (sleeping, waiting for a signal or a child) hold none. ∞: no limit.
      </p>
      {open?.kind === 'limits' && (
        <QueueLimitsDialog
          queue={open.queue}
          busy={busy}
          onSave={(body) => void change(open.queue, body, `Limits of ${open.queue.name} saved: the next claim applies them.`)}
          onClose={() => !busy && setOpen(null)}
        />
      )}
      {open?.kind === 'pause' && (
        <ConfirmDialog
          title={open.queue.paused ? `Resume ${open.queue.name}?` : `Pause ${open.queue.name}?`}
          message={
            <p>
              {open.queue.paused
                ? 'Workers start admitting its executions again at their next claim.'
                : 'No execution of this queue is admitted until it is resumed; those running now finish.'}
            </p>
          }
          confirmLabel={open.queue.paused ? 'Resume queue' : 'Pause queue'}
          danger={!open.queue.paused}
          busy={busy}
          onConfirm={() => void change(open.queue, { paused: !open.queue.paused }, `${open.queue.name} ${open.queue.paused ? 'resumed' : 'paused'}.`)}
          onClose={() => !busy && setOpen(null)}
        />
      )}
    </div>
  );
}
