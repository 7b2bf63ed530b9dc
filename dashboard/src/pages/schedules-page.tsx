/**
 * Schedules: each with its cron expression and timezone, what it starts, its next fire time, whether it
 * is paused, and its newest runs (linked to their executions) and skipped or missed ranges; Pause,
 * Resume and Run now, each after a confirmation.
 */
import { useState } from 'react';
import { api } from '../api/client';
import type { Schedule } from '../api/types';
import { ActionResult, failedOutcome, type ActionOutcome } from '../components/action-result';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ErrorBanner } from '../components/error-banner';
import { formatAge, formatTime } from '../components/format';
import { usePoll } from '../hooks/use-poll';
import { ScheduleSlots } from './schedule-slots';

type Action = 'pause' | 'resume' | 'trigger';

const TEXT: Record<Action, { title: string; label: string; message: string }> = {
  pause: { title: 'Pause', label: 'Pause schedule', message: 'No slot fires until it is resumed.' },
  resume: { title: 'Resume', label: 'Resume schedule', message: 'Slots that came due while it was paused are handled by its misfire policy.' },
  trigger: { title: 'Run now', label: 'Run now', message: 'Starts one run now (a manual slot), even when paused; its cron slots are untouched.' },
};

export function SchedulesPage() {
  const schedules = usePoll(() => api.get<{ schedules: Schedule[] }>('/api/schedules'), 'schedules', 3000);
  const [open, setOpen] = useState<{ action: Action; schedule: Schedule } | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ActionOutcome | null>(null);
  const rows = schedules.data?.schedules ?? [];

  const run = async (action: Action, schedule: Schedule) => {
    setBusy(true);
    try {
      const path = `/api/schedules/${encodeURIComponent(schedule.name)}/${action}`;
      if (action === 'trigger') {
        const r = await api.post<{ executionId: string | null; actionResult: number | null }>(path);
        setResult({ kind: 'ok', text: r.executionId ? `${schedule.name} started execution ${r.executionId}.` : `${schedule.name} ran its action (${r.actionResult ?? 0}).` });
      } else {
        await api.post(path);
        setResult({ kind: 'ok', text: `${schedule.name} ${action === 'pause' ? 'paused' : 'resumed'}.` });
      }
    } catch (err) {
      setResult(failedOutcome(err));
    } finally {
      setBusy(false);
      setOpen(null);
      schedules.reload();
    }
  };

  return (
    <div data-testid="schedules-page">
      <div className="page-head">
        <h1>Schedules</h1>
      </div>
      <ErrorBanner error={schedules.error} />
      <ActionResult result={result} onDismiss={() => setResult(null)} />
      <section className="panel panel-flush">
        <table className="table" data-testid="schedules-table">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>Cron</th>
              <th>Starts</th>
              <th>Next fire</th>
              <th>Last runs</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.name} data-testid="schedule-row" data-schedule={s.name}>
                <td>
                  <span className="mono">{s.name}</span>{' '}
                  {s.paused && (
                    <span className="badge flag-bad" data-testid="schedule-paused">
                      PAUSED
                    </span>
                  )}
                </td>
                <td>
                  <code data-testid="schedule-cron">{s.cron}</code> <span className="muted">{s.timezone}</span>
                  <div className="muted small">misfire {s.misfire}</div>
                </td>
                <td>{s.workflow ? <span className="mono">{s.workflow}{s.version ? `@${s.version}` : ''}</span> : <span className="muted">built in: {s.action}</span>}</td>
                <td title={formatTime(s.nextFireAt)} data-testid="schedule-next-fire" data-next-fire={s.nextFireAt}>
                  {formatTime(s.nextFireAt)}
                  <div className="muted small">{s.paused ? 'paused' : formatAge(s.nextFireAt)}</div>
                </td>
                <td>
                  <ScheduleSlots slots={s.recentSlots} />
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setOpen({ action: s.paused ? 'resume' : 'pause', schedule: s })}
                    data-testid="schedule-pause"
                  >
                    {s.paused ? 'Resume' : 'Pause'}
                  </button>{' '}
                  <button type="button" className="btn btn-small" onClick={() => setOpen({ action: 'trigger', schedule: s })} data-testid="schedule-trigger">
                    Run now
                  </button>
                </td>
              </tr>
            ))}
            {!schedules.loading && rows.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No schedule.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      {open && (
        <ConfirmDialog
          title={`${TEXT[open.action].title} ${open.schedule.name}?`}
          message={<p>{TEXT[open.action].message}</p>}
          confirmLabel={TEXT[open.action].label}
          busy={busy}
          onConfirm={() => void run(open.action, open.schedule)}
          onClose={() => !busy && setOpen(null)}
        />
      )}
    </div>
  );
}
