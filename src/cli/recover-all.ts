/**
 * `aries recover --all`: recovers every FAILED execution (of one workflow, if given) from its newest
 * unrecovered failure. The FAILED executions are listed first, page by page, so the progress has a total
 * and an execution that fails again during the run is not recovered twice. An execution recovery refuses
 * (nothing left to recover, a worker holds it, no longer FAILED) is counted and skipped; anything else,
 * such as a lost database, stops the run after saying how far it got.
 */
import type { FailureType } from '../core/failure-classification.js';
import { MAX_PAGE_SIZE } from '../db/execution-pages.js';
import type { ErrorCode } from '../errors.js';
import type { Engine } from '../sdk/engine.js';
import { formatTable, truncate } from './format-table.js';
import { progressLine } from './progress-line.js';
import { isAriesError } from './report-error.js';

/** Refusals that concern one execution: the run goes on with the next. */
const REFUSALS = new Set<ErrorCode>([
  'NO_FAILURE_TO_RECOVER',
  'EXECUTION_BUSY',
  'ILLEGAL_TRANSITION',
  'EXECUTION_NOT_FOUND',
  'LEASE_LOST',
]);

export interface BulkRecovery {
  /** FAILED executions found. */
  total: number;
  recovered: { id: string; checkpointId: string | null }[];
  refused: { id: string; code: string; message: string }[];
}

async function failedExecutionIds(engine: Engine, workflow: string | undefined): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.admin.listExecutions({ status: 'FAILED', workflow, limit: MAX_PAGE_SIZE, cursor });
    ids.push(...page.executions.map((e) => e.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

export async function recoverAll(
  engine: Engine,
  options: { workflow?: string | undefined; type?: FailureType | undefined },
): Promise<BulkRecovery> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const ids = await failedExecutionIds(engine, options.workflow);
  const scope = options.workflow === undefined ? '' : ` of workflow ${options.workflow}`;
  say(`found ${ids.length} FAILED execution(s)${scope}`);
  const result: BulkRecovery = { total: ids.length, recovered: [], refused: [] };
  const progress = progressLine('recovering');
  try {
    for (const [i, id] of ids.entries()) {
      progress.update(i + 1, ids.length);
      try {
        const { checkpointId } = await engine.admin.recover(id, options.type);
        result.recovered.push({ id, checkpointId });
      } catch (err) {
        if (!isAriesError(err) || !REFUSALS.has(err.code)) {
          progress.end();
          say(`aries: stopped at ${i + 1}/${ids.length}: ${result.recovered.length} recovered, ${result.refused.length} refused so far`);
          throw err;
        }
        result.refused.push({ id, code: err.code, message: err.message });
      }
    }
  } finally {
    progress.end();
  }
  return result;
}

/** The summary for people: counts, refusals by code, and a table of the refused executions. */
export function formatBulkRecovery(r: BulkRecovery): string {
  if (r.total === 0) return 'no FAILED executions to recover\n';
  const byCode = new Map<string, number>();
  for (const x of r.refused) byCode.set(x.code, (byCode.get(x.code) ?? 0) + 1);
  const codes = [...byCode].map(([code, n]) => `${code} ${n}`).join(', ');
  let text = `recovered ${r.recovered.length} of ${r.total} FAILED execution(s); ${r.refused.length} refused${codes ? ` (${codes})` : ''}\n`;
  if (r.refused.length > 0) {
    text += `\n${formatTable(
      ['EXECUTION', 'CODE', 'MESSAGE'],
      r.refused.map((x) => [x.id, x.code, truncate(x.message, 80)]),
    )}`;
  }
  return text;
}
