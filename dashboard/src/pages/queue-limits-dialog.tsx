/**
 * Editing a queue's limits in the confirm dialog: each limit a field, an empty field removes that limit
 * (unlimited). A value that is not a positive whole number is refused here, before anything is sent; the
 * server checks again and names the limit if it disagrees.
 */
import { useState } from 'react';
import type { Queue, QueueChange } from '../api/types';
import { ConfirmDialog } from '../components/confirm-dialog';

type Field = 'concurrency' | 'workerConcurrency' | 'keyConcurrency' | 'rateLimit' | 'ratePeriodMs';

const LABELS: Record<Field, string> = {
  concurrency: 'Concurrency (all workers)',
  workerConcurrency: 'Per worker',
  keyConcurrency: 'Per queue key',
  rateLimit: 'Rate: starts',
  ratePeriodMs: 'Rate: per period (ms)',
};

const text = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

/** The form's text as a change, or the reason it is not one. */
export function limitsChange(values: Record<Field, string>): QueueChange | string {
  const read = (field: Field): number | null | string => {
    const raw = values[field].trim();
    if (raw === '') return null;
    const n = Number(raw);
    return /^\d+$/.test(raw) && n >= 1 && n <= 2_147_483_647 ? n : `${LABELS[field]} must be a positive whole number (empty: unlimited)`;
  };
  const change: QueueChange = {};
  for (const field of ['concurrency', 'workerConcurrency', 'keyConcurrency'] as const) {
    const value = read(field);
    if (typeof value === 'string') return value;
    change[field] = value;
  }
  const limit = read('rateLimit');
  const period = read('ratePeriodMs');
  if (typeof limit === 'string') return limit;
  if (typeof period === 'string') return period;
  if ((limit === null) !== (period === null)) return 'A rate limit needs both the number of starts and the period (or neither)';
  change.rateLimit = limit === null || period === null ? null : { limit, periodMs: period };
  return change;
}

interface Props {
  queue: Queue;
  busy: boolean;
  onSave: (change: QueueChange) => void;
  onClose: () => void;
}

export function QueueLimitsDialog({ queue, busy, onSave, onClose }: Props) {
  const [values, setValues] = useState<Record<Field, string>>({
    concurrency: text(queue.concurrency),
    workerConcurrency: text(queue.workerConcurrency),
    keyConcurrency: text(queue.keyConcurrency),
    rateLimit: text(queue.rateLimit?.limit),
    ratePeriodMs: text(queue.rateLimit?.periodMs),
  });
  const [problem, setProblem] = useState<string | null>(null);
  const save = () => {
    const change = limitsChange(values);
    if (typeof change === 'string') setProblem(change);
    else onSave(change);
  };
  return (
    <ConfirmDialog
      title={`Change the limits of ${queue.name}?`}
      message={<p>The next claim applies them, on every worker. A deploy keeps them: the queue&apos;s definition no longer sets its limits. Leave a field empty for no limit.</p>}
      confirmLabel="Save limits"
      busy={busy}
      onConfirm={save}
      onClose={onClose}
    >
      <div className="limit-fields">
        {(Object.keys(LABELS) as Field[]).map((field) => (
          <label key={field} className="field">
            {LABELS[field]}
            <input
              inputMode="numeric"
              value={values[field]}
              onChange={(e) => setValues({ ...values, [field]: e.target.value })}
              data-testid={`limit-${field}`}
            />
          </label>
        ))}
      </div>
      {problem && (
        <p className="error-text" role="alert" data-testid="limit-problem">
          {problem}
        </p>
      )}
    </ConfirmDialog>
  );
}
