/**
 * One execution: header (with its parent, for a child) and actions, step timeline (what each wait waits
 * for; an open signal wait can be sent its signal), children, mailbox, failures, checkpoints, journal, and
 * its input, output and error. Live (every 2 s until the execution is final). Large payloads arrive
 * truncated; "Show all" switches the page to `?full=true`.
 */
import { useState } from 'react';
import { api } from '../api/client';
import { FINAL_STATUSES, type ExecutionDetail, type JournalPage, type JournalRecord } from '../api/types';
import { ActionResult, type ActionOutcome } from '../components/action-result';
import { ErrorBanner } from '../components/error-banner';
import { ErrorView } from '../components/error-view';
import { FailureTable } from '../components/failure-table';
import { JsonView } from '../components/json-view';
import { usePoll } from '../hooks/use-poll';
import { href, navigate, type Route } from '../hooks/use-route';
import { CheckpointsTable } from './checkpoints-table';
import { ChildrenTable } from './children-table';
import { ExecutionActions } from './execution-actions';
import { ExecutionHeader } from './execution-header';
import { JournalTable } from './journal-table';
import { MailboxTable } from './mailbox-table';
import { SendSignal } from './send-signal';
import { StepTimeline } from './step-timeline';

const JOURNAL_PAGE = 100;

export function ExecutionPage({ id, route }: { id: string; route: Route }) {
  const full = route.query.get('full') === 'true';
  const [final, setFinal] = useState(false);
  const detail = usePoll(
    () => api.get<ExecutionDetail>(`/api/executions/${encodeURIComponent(id)}`, { full: full || undefined }),
    `${id}:${full}`,
    final ? 10_000 : 2000,
  );
  const [more, setMore] = useState<{ key: string; records: JournalRecord[]; next: number | null }>({ key: '', records: [], next: null });
  const [loadingMore, setLoadingMore] = useState(false);
  const [signalResult, setSignalResult] = useState<ActionOutcome | null>(null);
  const d = detail.data;
  const isFinal = d ? FINAL_STATUSES.has(d.execution.status) : false;
  if (isFinal !== final) setFinal(isFinal);

  const showAll = () => navigate(`/executions/${id}`, { full: 'true' }, true);
  const moreKey = `${id}:${full}`;
  const extra = more.key === moreKey ? more : { records: [], next: null };
  const firstPage = d?.journal.records ?? [];
  const lastLsn = firstPage[firstPage.length - 1]?.lsn ?? 0;
  const records = [...firstPage, ...extra.records.filter((r) => r.lsn > lastLsn)];
  const nextAfterLsn = extra.records.length > 0 ? extra.next : (d?.journal.nextAfterLsn ?? null);

  const loadMore = async () => {
    if (nextAfterLsn === null) return;
    setLoadingMore(true);
    try {
      const page = await api.get<JournalPage>(`/api/executions/${encodeURIComponent(id)}/journal`, {
        afterLsn: nextAfterLsn,
        limit: JOURNAL_PAGE,
        full: full || undefined,
      });
      setMore({ key: moreKey, records: [...extra.records, ...page.records], next: page.nextAfterLsn });
    } finally {
      setLoadingMore(false);
    }
  };

  if (!d) {
    return (
      <div data-testid="execution-page">
        <p className="crumbs">
          <a href={href('/executions')}>Executions</a> / <span className="mono">{id}</span>
        </p>
        <ErrorBanner error={detail.error} />
        {!detail.error && <div className="placeholder">Loading…</div>}
      </div>
    );
  }
  const e = d.execution;
  const onSignalSent = (result: ActionOutcome) => {
    setSignalResult(result);
    detail.reload();
  };
  return (
    <div data-testid="execution-page" data-status={e.status}>
      <p className="crumbs">
        <a href={href('/executions')}>Executions</a> / <span className="mono">{id}</span>
      </p>
      <ErrorBanner error={detail.error} />
      <section className="panel">
        <ExecutionHeader execution={e} />
        <ExecutionActions execution={e} onDone={detail.reload} />
        <ActionResult result={signalResult} onDismiss={() => setSignalResult(null)} testId="signal-result" />
      </section>
      {e.error && (
        <section className="panel panel-error">
          <h2>Error</h2>
          <ErrorView error={e.error} testId="execution-error" onShowAll={showAll} />
        </section>
      )}
      <section className="panel">
        <h2>Steps</h2>
        <StepTimeline execution={e} steps={d.steps} failures={d.failures} onShowAll={showAll} onSignalSent={onSignalSent} />
      </section>
      {d.children.length > 0 && (
        <section className="panel" data-testid="children-panel">
          <h2>
            Children <span className="count">{d.children.length}</span>
          </h2>
          <ChildrenTable items={d.children} />
        </section>
      )}
      <section className="panel" data-testid="mailbox-panel">
        <div className="panel-head">
          <h2>
            Signals <span className="count">{d.signals.length}</span>
          </h2>
          <SendSignal executionId={e.id} disabled={FINAL_STATUSES.has(e.status)} onSent={onSignalSent} small />
        </div>
        <MailboxTable signals={d.signals} onShowAll={showAll} />
      </section>
      <div className="grid-2">
        <section className="panel">
          <h2>Input</h2>
          <JsonView value={e.input} onShowAll={showAll} testId="execution-input" />
        </section>
        <section className="panel">
          <h2>Output</h2>
          <JsonView value={e.output} onShowAll={showAll} testId="execution-output" />
        </section>
      </div>
      <section className="panel">
        <h2>
          Failures <span className="count">{d.failures.length}</span>
        </h2>
        {d.failures.length > 0 ? <FailureTable failures={d.failures} testId="execution-failures" /> : <p className="muted">No failures recorded.</p>}
      </section>
      <section className="panel">
        <h2>
          Checkpoints <span className="count">{d.checkpoints.length}</span>
        </h2>
        <CheckpointsTable checkpoints={d.checkpoints} />
      </section>
      <section className="panel">
        <h2>
          Journal <span className="count">{records.length}</span>
        </h2>
        <JournalTable records={records} hasMore={nextAfterLsn !== null} loadingMore={loadingMore} onLoadMore={() => void loadMore()} onShowAll={showAll} />
      </section>
    </div>
  );
}
