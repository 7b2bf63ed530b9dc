/**
 * The journal, oldest first: each record's LSN and the LSN it chains to, its kind, step and attempt, and
 * whether its checksum still verifies. "Load more" follows `nextAfterLsn`; a record opens to show its payload.
 */
import { Fragment, useState } from 'react';
import type { JournalRecord } from '../api/types';
import { FlagBadge } from '../components/badges';
import { formatTime } from '../components/format';
import { JsonView } from '../components/json-view';

interface Props {
  records: JournalRecord[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onShowAll: () => void;
}

export function JournalTable({ records, hasMore, loadingMore, onLoadMore, onShowAll }: Props) {
  const [open, setOpen] = useState<number | null>(null);
  return (
    <>
      <table className="table table-compact" data-testid="journal-table">
        <thead>
          <tr>
            <th className="num">LSN</th>
            <th className="num">Prev LSN</th>
            <th>Kind</th>
            <th>Step</th>
            <th className="num">Attempt</th>
            <th>Checksum</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <Fragment key={r.lsn}>
              <tr data-testid="journal-row" data-lsn={r.lsn} data-kind={r.kind}>
                <td className="num mono">{r.lsn}</td>
                <td className="num mono muted">{r.prevLsn ?? '—'}</td>
                <td>
                  <span className={`kind kind-${r.kind.split('_')[0]}`}>{r.kind}</span>
                </td>
                <td className="mono">{r.stepKey ?? ''}</td>
                <td className="num">{r.attempt ?? ''}</td>
                <td>
                  <FlagBadge ok={r.checksumOk} yes="OK" no="BROKEN" />
                </td>
                <td className="nowrap">{formatTime(r.createdAt)}</td>
                <td>
                  {r.payload !== null && r.payload !== undefined && (
                    <button type="button" className="btn btn-link btn-small" onClick={() => setOpen(open === r.lsn ? null : r.lsn)}>
                      {open === r.lsn ? 'Hide' : 'Payload'}
                    </button>
                  )}
                </td>
              </tr>
              {open === r.lsn && (
                <tr className="row-detail">
                  <td colSpan={8}>
                    <JsonView value={r.payload} onShowAll={onShowAll} compact />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      {hasMore && (
        <div className="load-more">
          <button type="button" className="btn btn-small" onClick={onLoadMore} disabled={loadingMore} data-testid="journal-load-more">
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </>
  );
}
