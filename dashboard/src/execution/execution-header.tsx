/**
 * Who and where the execution is: workflow@version, status, its parent (a link, for a child), keys, lease,
 * deadline, timestamps, claims.
 */
import type { ReactNode } from 'react';
import type { Execution } from '../api/types';
import { StatusBadge } from '../components/badges';
import { formatAge, formatDuration, formatTime } from '../components/format';
import { href } from '../hooks/use-route';

export function ExecutionHeader({ execution: e }: { execution: Execution }) {
  const end = e.finishedAt ? new Date(e.finishedAt).getTime() : Date.now();
  const start = e.startedAt ? new Date(e.startedAt).getTime() : undefined;
  const leaseExpired = e.leaseExpiresAt !== null && new Date(e.leaseExpiresAt).getTime() < Date.now();
  const fields: Array<[string, ReactNode, string?]> = [
    ['Idempotency key', e.idempotencyKey ?? '—', 'idempotency-key'],
    ['Lease owner', e.leaseOwner ?? '—', 'lease-owner'],
    ['Lease expires', e.leaseExpiresAt ? `${formatTime(e.leaseExpiresAt)}${leaseExpired ? ' (expired)' : ''}` : '—'],
    ['Claims', String(e.claimCount), 'claim-count'],
    ['Steps completed', String(e.stepCount)],
    ['Created', formatTime(e.createdAt)],
    ['Started', formatTime(e.startedAt)],
    ['Finished', formatTime(e.finishedAt)],
    ['Updated', `${formatTime(e.updatedAt)} (${formatAge(e.updatedAt)})`],
    ['Duration', start !== undefined ? formatDuration(end - start) : '—'],
    ['Deadline', e.deadlineAt ? `${formatTime(e.deadlineAt)}${e.finishedAt ? '' : ` (${formatAge(e.deadlineAt)})`}` : '—', 'deadline'],
  ];
  if (e.parent) {
    fields.unshift([
      'Parent',
      <>
        <a className="mono" href={href(`/executions/${e.parent.id}`)} data-testid="parent-link" data-id={e.parent.id}>
          {e.parent.id}
        </a>{' '}
        <span className="muted">
          step <span className="mono">{e.parent.stepKey}</span>
          {e.parent.close === 'abandon' ? ' · runs on if the parent is cancelled' : ''}
        </span>
      </>,
      'parent',
    ]);
  }
  return (
    <div className="exec-header">
      <div className="exec-title">
        <h1>
          {e.workflow}
          <span className="muted">@{e.version}</span>
        </h1>
        <StatusBadge status={e.status} testId="execution-status" />
      </div>
      <div className="mono muted small" data-testid="execution-id">
        {e.id}
      </div>
      <dl className="fields">
        {fields.map(([label, value, testId]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd data-testid={testId} className={label === 'Idempotency key' || label === 'Lease owner' ? 'mono' : undefined}>
              {value}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
