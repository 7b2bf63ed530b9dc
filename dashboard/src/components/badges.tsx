/** Colored badges: execution / step statuses, failure types, checksum state. Colors live in styles.css. */

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge status-${status.toLowerCase()}`} data-testid={testId} data-status={status}>
      {status}
    </span>
  );
}

export function FailureTypeBadge({ type }: { type: string }) {
  return (
    <span className={`badge failure-${type.toLowerCase()}`} data-failure-type={type}>
      {type}
    </span>
  );
}

export function FlagBadge({ ok, yes, no, testId }: { ok: boolean; yes: string; no: string; testId?: string }) {
  return (
    <span className={`badge ${ok ? 'flag-ok' : 'flag-bad'}`} data-testid={testId}>
      {ok ? yes : no}
    </span>
  );
}
