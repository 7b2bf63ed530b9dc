/**
 * An expense approval: the request is recorded and its approver notified, then the workflow waits for a
 * human's decision, the signal `decision`, for up to a day. If none comes, the request is escalated to
 * the approver's manager, who gets another day; after that it is rejected by itself. Waiting holds
 * nothing: for that day the execution is WAITING in the database, with no worker slot, no lease and no
 * memory in any process, and the day is measured on the database clock.
 *
 * The "application" is two tables in the same database: the requests and the notifications sent.
 * Whoever decides can signal through the engine (`engine.signal`), from SQL in the application's own
 * transaction (`aries.send_signal`, see main.ts), the CLI (`aries signal`) or the HTTP API.
 */
import { defineWorkflow, WaitTimeoutError, type Engine } from '../../src/index.js';

export const ONE_DAY_MS = 24 * 60 * 60 * 1000;

export interface ExpenseRequest {
  requestId: string;
  amount: number;
  requester: string;
  approver: string;
  /** Who decides when the approver does not answer in time. */
  escalateTo: string;
  /** How long each decision may take (default one day). The demo shortens it to show the escalation. */
  decisionTimeoutMs?: number;
}

export interface Decision {
  approved: boolean;
  by: string;
  note?: string;
}

export interface ApprovalResult {
  status: 'APPROVED' | 'REJECTED';
  decidedBy: string;
  escalated: boolean;
}

export const APPROVAL_DDL = `
  CREATE TABLE IF NOT EXISTS approval_requests (
    request_id text PRIMARY KEY, amount int NOT NULL, requester text NOT NULL,
    status text NOT NULL, decided_by text, decided_at timestamptz);
  CREATE TABLE IF NOT EXISTS approval_notifications (
    idempotency_key text PRIMARY KEY, request_id text NOT NULL, recipient text NOT NULL, what text NOT NULL)`;

/** Sends a notification once per idempotency key: a step run again after a crash sends nothing twice. */
async function notify(engine: Engine, key: string, requestId: string, recipient: string, what: string): Promise<void> {
  await engine.db.query('INSERT INTO approval_notifications VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [key, requestId, recipient, what]);
}

export function approvalWorkflow(engine: Engine) {
  return defineWorkflow<ExpenseRequest, ApprovalResult>('expense-approval', async (ctx, req) => {
    const timeoutMs = req.decisionTimeoutMs ?? ONE_DAY_MS;
    await ctx.step('submit', async (step) => {
      await engine.db.query(
        `INSERT INTO approval_requests (request_id, amount, requester, status) VALUES ($1, $2, $3, 'PENDING')
         ON CONFLICT (request_id) DO NOTHING`,
        [req.requestId, req.amount, req.requester],
      );
      await notify(engine, step.idempotencyKey, req.requestId, req.approver, `please approve ${req.amount} for ${req.requester}`);
    });

    let escalated = false;
    let decision: Decision;
    try {
      decision = await ctx.waitForSignal<Decision>('decision', { timeoutMs }); // key signal:decision:1
    } catch (err) {
      if (!(err instanceof WaitTimeoutError)) throw err;
      // Nobody answered in time: the manager decides, and gets the same time.
      escalated = true;
      await ctx.step('escalate', async (step) => {
        await engine.db.query(`UPDATE approval_requests SET status = 'ESCALATED' WHERE request_id = $1`, [req.requestId]);
        await notify(engine, step.idempotencyKey, req.requestId, req.escalateTo, `${req.approver} did not answer: please decide`);
      });
      try {
        decision = await ctx.waitForSignal<Decision>('decision', { timeoutMs }); // key signal:decision:2
      } catch (again) {
        if (!(again instanceof WaitTimeoutError)) throw again;
        decision = { approved: false, by: 'nobody', note: 'no decision in time' };
      }
    }

    const status = decision.approved ? 'APPROVED' : 'REJECTED';
    await ctx.step('close', async (step) => {
      await engine.db.query(
        'UPDATE approval_requests SET status = $2, decided_by = $3, decided_at = now() WHERE request_id = $1',
        [req.requestId, status, decision.by],
      );
      await notify(engine, step.idempotencyKey, req.requestId, req.requester, `your request was ${status.toLowerCase()} by ${decision.by}`);
    });
    return { status, decidedBy: decision.by, escalated };
  });
}
