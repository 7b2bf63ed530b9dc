/** Checkpoints: the snapshots recovery may restart from; an invalid one is skipped by recovery. */
import type { Checkpoint } from '../api/types';
import { FlagBadge } from '../components/badges';
import { formatTime } from '../components/format';

export function CheckpointsTable({ checkpoints }: { checkpoints: Checkpoint[] }) {
  if (checkpoints.length === 0) return <p className="muted">No checkpoints.</p>;
  return (
    <table className="table table-compact" data-testid="checkpoints-table">
      <thead>
        <tr>
          <th>Checkpoint</th>
          <th className="num">LSN</th>
          <th>Taken</th>
          <th>Valid</th>
        </tr>
      </thead>
      <tbody>
        {checkpoints.map((c) => (
          <tr key={c.id} data-testid="checkpoint-row">
            <td className="mono">{c.id}</td>
            <td className="num mono">{c.lsn}</td>
            <td>{formatTime(c.at)}</td>
            <td>
              <FlagBadge ok={c.valid} yes="VALID" no="INVALID" />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
