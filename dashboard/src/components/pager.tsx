/**
 * Cursor pagination: the API gives only `nextCursor` (older rows), so the pager keeps the cursors it
 * followed to go back to newer pages.
 */
import { useState } from 'react';

export interface PagerState {
  cursor: string | undefined;
  page: number;
  older: (next: string) => void;
  newer: () => void;
  reset: () => void;
}

export function usePager(): PagerState {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length + 1,
    older: (next) => setStack((s) => [...s, next]),
    newer: () => setStack((s) => s.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager({ pager, nextCursor, testId = 'pager' }: { pager: PagerState; nextCursor: string | null | undefined; testId?: string }) {
  return (
    <div className="pager" data-testid={testId}>
      <button type="button" className="btn btn-small" disabled={pager.page === 1} onClick={pager.newer} data-testid="pager-newer">
        ← Newer
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="btn btn-small"
        disabled={!nextCursor}
        onClick={() => nextCursor && pager.older(nextCursor)}
        data-testid="pager-older"
      >
        Older →
      </button>
    </div>
  );
}
