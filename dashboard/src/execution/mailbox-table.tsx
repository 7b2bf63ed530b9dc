/**
 * The execution's mailbox: every signal sent to it, in the order sent, each with the wait that consumed
 * it or "in the mailbox" while none has. Payloads are shown on one line (a large one as the server's
 * preview); a row opens to show the whole payload.
 */
import { useState } from 'react';
import { isTruncated, type MailboxSignal } from '../api/types';
import { formatTime } from '../components/format';
import { JsonView } from '../components/json-view';

const oneLine = (value: unknown): string => {
  if (value === null || value === undefined) return '—';
  const text = isTruncated(value) ? `${value.preview}…` : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};

export function MailboxTable({ signals, onShowAll }: { signals: MailboxSignal[]; onShowAll: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  if (signals.length === 0) return <p className="muted">No signals sent.</p>;
  return (
    <table className="table table-compact" data-testid="mailbox-table">
      <thead>
        <tr>
          <th className="num">#</th>
          <th>Name</th>
          <th>Payload</th>
          <th>Sent</th>
          <th>Consumed by</th>
          <th>Consumed</th>
        </tr>
      </thead>
      <tbody>
        {signals.flatMap((s) => {
          const rows = [
            <tr
              key={s.id}
              className="clickable"
              onClick={() => setOpen(open === s.id ? null : s.id)}
              data-testid="mailbox-row"
              data-name={s.name}
              data-consumed-by={s.consumedBy ?? ''}
            >
              <td className="num mono">{s.id}</td>
              <td className="mono">{s.name}</td>
              <td className="mono message-cell" title={oneLine(s.payload)}>
                {oneLine(s.payload)}
              </td>
              <td>{formatTime(s.sentAt)}</td>
              <td className="mono">{s.consumedBy ?? <span className="muted">in the mailbox</span>}</td>
              <td>{formatTime(s.consumedAt)}</td>
            </tr>,
          ];
          if (open === s.id) {
            rows.push(
              <tr key={`${s.id}-detail`} className="row-detail">
                <td colSpan={6}>
                  {s.idempotencyKey && (
                    <p className="small muted">
                      Idempotency key <span className="mono">{s.idempotencyKey}</span>
                    </p>
                  )}
                  <JsonView value={s.payload} onShowAll={onShowAll} compact testId={`signal-payload-${s.id}`} />
                </td>
              </tr>,
            );
          }
          return rows;
        })}
      </tbody>
    </table>
  );
}
