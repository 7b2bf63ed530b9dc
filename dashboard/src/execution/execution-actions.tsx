/**
 * Recover, Retry and Cancel. Each asks for confirmation in a modal, then shows what the server answered:
 * the outcome, or the error with its code (ILLEGAL_TRANSITION, NO_FAILURE_TO_RECOVER, EXECUTION_BUSY…).
 */
import { useState } from 'react';
import { api } from '../api/client';
import { FAILURE_TYPES, FINAL_STATUSES, type Execution } from '../api/types';
import { ActionResult, failedOutcome, type ActionOutcome } from '../components/action-result';
import { ConfirmDialog } from '../components/confirm-dialog';

type Action = 'recover' | 'retry' | 'cancel';

const TEXT: Record<Action, { title: string; label: string; message: string }> = {
  recover: {
    title: 'Recover this execution?',
    label: 'Recover',
    message: 'Resumes the execution from its last valid checkpoint, as the failure type directs (retry, roll back, or compensate).',
  },
  retry: {
    title: 'Retry this execution?',
    label: 'Retry',
    message: 'Makes the execution runnable again now, so the next free worker claims it.',
  },
  cancel: {
    title: 'Cancel this execution?',
    label: 'Cancel execution',
    message: 'The execution stops at its next step boundary and never runs again. This cannot be undone.',
  },
};

export function ExecutionActions({ execution, onDone }: { execution: Execution; onDone: () => void }) {
  const [open, setOpen] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ActionOutcome | null>(null);
  const [reason, setReason] = useState('');
  const [failureType, setFailureType] = useState('');
  const final = FINAL_STATUSES.has(execution.status);

  const run = async (action: Action) => {
    setBusy(true);
    try {
      const path = `/api/executions/${encodeURIComponent(execution.id)}/${action}`;
      if (action === 'recover') {
        const r = await api.post<{ checkpointId: string | null; execution: Execution }>(path, failureType ? { type: failureType } : {});
        setResult({ kind: 'ok', text: `Recovered: the execution resumes ${r.checkpointId ? `from checkpoint ${r.checkpointId}` : 'from its start'}.` });
      } else if (action === 'retry') {
        const r = await api.post<{ checkpointId?: string | null }>(path);
        setResult({ kind: 'ok', text: `Retry scheduled: the next free worker resumes it${r.checkpointId ? ` from checkpoint ${r.checkpointId}` : ''}.` });
      } else {
        await api.post(path, reason.trim() ? { reason: reason.trim() } : {});
        setResult({ kind: 'ok', text: 'Cancelled: no step of this execution starts again.' });
      }
    } catch (err) {
      setResult(failedOutcome(err));
    } finally {
      setBusy(false);
      setOpen(null);
      onDone();
    }
  };

  return (
    <>
      <div className="actions">
        <button type="button" className="btn btn-primary" disabled={final} onClick={() => setOpen('recover')} data-testid="action-recover">
          Recover
        </button>
        <button type="button" className="btn" disabled={final} onClick={() => setOpen('retry')} data-testid="action-retry">
          Retry
        </button>
        <button type="button" className="btn btn-danger-outline" disabled={final} onClick={() => setOpen('cancel')} data-testid="action-cancel">
          Cancel
        </button>
      </div>
      <ActionResult result={result} onDismiss={() => setResult(null)} />
      {open && (
        <ConfirmDialog
          title={TEXT[open].title}
          message={
            <p>
              {TEXT[open].message} <span className="mono">{execution.id}</span>
            </p>
          }
          confirmLabel={TEXT[open].label}
          danger={open === 'cancel'}
          busy={busy}
          onConfirm={() => void run(open)}
          onClose={() => !busy && setOpen(null)}
        >
          {open === 'cancel' && (
            <label className="field">
              Reason (optional)
              <input value={reason} onChange={(e) => setReason(e.target.value)} data-testid="cancel-reason" />
            </label>
          )}
          {open === 'recover' && (
            <label className="field">
              Failure type
              <select value={failureType} onChange={(e) => setFailureType(e.target.value)} data-testid="recover-type">
                <option value="">As recorded</option>
                {FAILURE_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
