/**
 * A schedule's newest slot records as a compact list: a started or manual run with a link to its
 * execution and that execution's status now, or a range of skipped or missed slots with its count.
 */
import type { ScheduleSlot } from '../api/types';
import { StatusBadge } from '../components/badges';
import { formatTime, shortId } from '../components/format';
import { href } from '../hooks/use-route';

function SlotLine({ slot }: { slot: ScheduleSlot }) {
  if (slot.status === 'skipped' || slot.status === 'missed') {
    const range = slot.throughAt && slot.count > 1 ? `${formatTime(slot.slotAt)} – ${formatTime(slot.throughAt)}` : formatTime(slot.slotAt);
    return (
      <li data-testid="schedule-slot" data-status={slot.status}>
        <span className={`badge slot-${slot.status}`}>{slot.status}</span> {slot.count} slot{slot.count === 1 ? '' : 's'} <span className="muted">{range}</span>
      </li>
    );
  }
  return (
    <li data-testid="schedule-slot" data-status={slot.status}>
      <span className={`badge slot-${slot.status}`}>{slot.status}</span> <span className="muted">{formatTime(slot.slotAt)}</span>{' '}
      {slot.executionId ? (
        <>
          <a className="mono" href={href(`/executions/${slot.executionId}`)} data-testid="schedule-slot-execution">
            {shortId(slot.executionId)}
          </a>{' '}
          {slot.executionStatus ? <StatusBadge status={slot.executionStatus} /> : <span className="muted">purged</span>}
        </>
      ) : (
        slot.actionResult !== null && <span>action: {slot.actionResult}</span>
      )}
    </li>
  );
}

export function ScheduleSlots({ slots }: { slots: ScheduleSlot[] }) {
  if (slots.length === 0) return <span className="muted">none yet</span>;
  return (
    <ul className="slot-list">
      {slots.map((s) => (
        <SlotLine key={s.id} slot={s} />
      ))}
    </ul>
  );
}
