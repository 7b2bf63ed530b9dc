/**
 * "Send signal": a button that opens a form (the signal's name, a JSON payload, an optional idempotency
 * key) and puts the signal in the execution's mailbox (POST /api/executions/{id}/signals). A payload that
 * is not JSON is refused here, before anything is sent; what the server answered (the signal's id, a
 * duplicate idempotency key, or the error with its code) goes to `onSent`, for the page to show: the
 * button itself goes away when the wait it stood beside takes the signal.
 */
import { useState } from 'react';
import { api } from '../api/client';
import { failedOutcome, type ActionOutcome } from '../components/action-result';
import { ConfirmDialog } from '../components/confirm-dialog';

interface Props {
  executionId: string;
  /** The name the form starts with: the signal an open wait waits for. */
  name?: string;
  disabled?: boolean;
  onSent: (result: ActionOutcome) => void;
  /** A small button (inside a step's row) or a normal one. */
  small?: boolean;
}

/** The payload as typed: empty is no payload; anything else must parse as JSON. */
export function parsePayload(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, message: `The payload is not JSON: ${(err as Error).message}` };
  }
}

export function SendSignal({ executionId, name: initialName = '', disabled, onSent, small }: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState(initialName);
  const [payload, setPayload] = useState('');
  const [key, setKey] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);

  const show = () => {
    setName(initialName);
    setPayload('');
    setKey('');
    setInvalid(null);
    setOpen(true);
  };

  const send = async () => {
    const parsed = parsePayload(payload);
    if (!parsed.ok) return setInvalid(parsed.message);
    if (name.trim() === '') return setInvalid('A signal needs a name.');
    setInvalid(null);
    setBusy(true);
    let result: ActionOutcome;
    try {
      const body: Record<string, unknown> = { name: name.trim() };
      if (parsed.value !== undefined) body.payload = parsed.value;
      if (key.trim() !== '') body.idempotencyKey = key.trim();
      const r = await api.post<{ signalId?: string; duplicate?: boolean }>(`/api/executions/${encodeURIComponent(executionId)}/signals`, body);
      result = {
        kind: 'ok',
        text: r.duplicate
          ? `Not sent again: that idempotency key was used already${r.signalId ? ` (signal ${r.signalId})` : ''}.`
          : `Signal "${name.trim()}" sent${r.signalId ? ` (signal ${r.signalId})` : ''}: a wait for it takes it, now or later.`,
      };
    } catch (err) {
      result = failedOutcome(err);
    }
    setBusy(false);
    setOpen(false);
    onSent(result);
  };

  return (
    <>
      <button
        type="button"
        className={`btn ${small ? 'btn-small' : ''}`}
        disabled={disabled}
        onClick={show}
        data-testid="send-signal"
        data-signal={initialName || undefined}
      >
        Send signal
      </button>
      {open && (
        <ConfirmDialog
          title="Send a signal"
          message={
            <p>
              Puts a signal in the mailbox of <span className="mono">{executionId}</span>. A wait for its name takes the oldest one
              sent; until then it stays in the mailbox.
            </p>
          }
          confirmLabel="Send"
          busy={busy}
          onConfirm={() => void send()}
          onClose={() => !busy && setOpen(false)}
        >
          <label className="field">
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} data-testid="signal-name" />
          </label>
          <label className="field">
            Payload (JSON, optional)
            <textarea
              rows={4}
              value={payload}
              onChange={(e) => setPayload(e.target.value)}
              placeholder='{"approvedBy": "ana"}'
              className="mono"
              data-testid="signal-payload"
            />
          </label>
          <label className="field">
            Idempotency key (optional)
            <input value={key} onChange={(e) => setKey(e.target.value)} data-testid="signal-idempotency-key" />
          </label>
          {invalid && (
            <p className="error-text small" role="alert" data-testid="signal-invalid">
              {invalid}
            </p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
