/**
 * An execution's mailbox as an operator reads it: every signal sent to it, in the order sent, each with
 * the wait that consumed it (its step key) or none yet. Sending is aries.send_signal (waits.ts); this file
 * only reads.
 */
import type { Queryable } from './database.js';
import { isUuid } from './executions.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

export interface MailboxSignal {
  /** The signal's id: the order of sending (a wait takes the oldest unconsumed one of its name). */
  id: string;
  name: string;
  /** Through aries.payload_preview: whole, or a `{ $truncated, bytes, preview }` marker above the limit. */
  payload: unknown;
  idempotencyKey: string | null;
  sentAt: Date;
  /** The step key of the wait that took it; null while it waits in the mailbox. */
  consumedBy: string | null;
  consumedAt: Date | null;
}

/** The newest `limit` signals of an execution, oldest first; payloads above `truncateAboveBytes` previewed. */
export async function listSignals(
  db: Queryable,
  executionId: string,
  options: { limit: number; truncateAboveBytes: number | null },
): Promise<MailboxSignal[]> {
  if (!isUuid(executionId)) return [];
  const rows = await translated(
    db.query<{
      id: string | number;
      name: string;
      payload: unknown;
      idempotency_key: string | null;
      sent_at: Date | string;
      consumed_by: string | null;
      consumed_at: Date | string | null;
    }>(
      `SELECT * FROM (SELECT id, name, aries.payload_preview(payload, $3) AS payload, idempotency_key, sent_at,
                             consumed_by, consumed_at
                        FROM aries.signals WHERE execution_id = $1 ORDER BY id DESC LIMIT $2) newest
        ORDER BY id`,
      [executionId, options.limit, options.truncateAboveBytes],
    ),
  );
  return rows.map((r) => ({
    id: String(r.id),
    name: r.name,
    payload: r.payload,
    idempotencyKey: r.idempotency_key,
    sentAt: toDate(r.sent_at),
    consumedBy: r.consumed_by,
    consumedAt: r.consumed_at === null ? null : toDate(r.consumed_at),
  }));
}
