/**
 * Three expense requests through the approval workflow (approval-workflow.ts), on one worker with a single
 * slot: all three wait for a human at the same time, because a waiting execution holds no slot.
 *
 *   r-1  ana approves through the engine (engine.signal); sending the same decision again with its
 *        idempotency key stores nothing
 *   r-2  the decision is made in the application's own transaction: its row and the signal
 *        (aries.send_signal) commit together; a decision whose transaction rolls back leaves no signal
 *   r-3  nobody answers in time: the request is escalated to the manager, who approves. Its timeout is
 *        shortened to 300 ms so the demo does not wait a day (r-1 and r-2 wait with the real one)
 *
 *   npx tsx examples/approval/main.ts                              embedded PGlite in .aries-approval (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/approval/main.ts    a PostgreSQL server (its approval_* tables recreated)
 *
 * Exits 0 when every request ended as described and each decision was consumed exactly once; 1 otherwise.
 * In your own project, import from 'aries' instead of '../../src/index.js'.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine, type Engine, type ExecutionHandle } from '../../src/index.js';
import { APPROVAL_DDL, approvalWorkflow, ONE_DAY_MS, type ApprovalResult, type Decision, type ExpenseRequest } from './approval-workflow.js';

const SHORT_TIMEOUT_MS = 300;
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` returns something (at most 30 s). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await pause(20);
  }
}

/** The application deciding: its decision row and the signal to the workflow, in one transaction. */
async function decideInTransaction(engine: Engine, executionId: string, requestId: string, decision: Decision, check: () => void): Promise<void> {
  await engine.db.transaction(async (tx) => {
    await tx.query('INSERT INTO approval_decisions (request_id, decided_by, approved) VALUES ($1, $2, $3)', [requestId, decision.by, decision.approved]);
    await tx.query('SELECT * FROM aries.send_signal(p_execution_id => $1, p_name => $2, p_payload => $3::jsonb)', [
      executionId,
      'decision',
      JSON.stringify(decision),
    ]);
    check(); // the application's own rule, after the signal was sent: throwing rolls both back
  });
}

async function main(): Promise<number> {
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = resolve('.aries-approval');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    say(`backend: ${engine.backend === 'postgres' ? 'PostgreSQL server' : 'embedded PGlite'} (${engine.db.description})`);
    await engine.db.exec('DROP TABLE IF EXISTS approval_requests, approval_notifications, approval_decisions');
    await engine.db.exec(`${APPROVAL_DDL};
      CREATE TABLE approval_decisions (request_id text NOT NULL, decided_by text NOT NULL, approved boolean NOT NULL)`);
    const workflow = approvalWorkflow(engine);
    const worker = engine.worker({ workflows: [workflow], concurrency: 1, pollIntervalMs: 50 });
    await worker.start();

    // Idempotency keys carry this run's id, so a rerun on the same server database starts new executions.
    const run = Date.now().toString(36);
    const request = (requestId: string, amount: number, extra: Partial<ExpenseRequest> = {}): ExpenseRequest => ({
      requestId,
      amount,
      requester: 'dan',
      approver: 'ana',
      escalateTo: 'carol',
      ...extra,
    });
    const start = (req: ExpenseRequest) => engine.start(workflow, req, { idempotencyKey: `${run}:${req.requestId}` });
    const r1 = await start(request('r-1', 120));
    const r2 = await start(request('r-2', 5_000));
    const r3 = await start(request('r-3', 80, { decisionTimeoutMs: SHORT_TIMEOUT_MS }));
    const statusOf = async (h: ExecutionHandle<ApprovalResult>) => (await engine.admin.readExecution(h.id))!;
    const waiting = (h: ExecutionHandle<ApprovalResult>) => until(`${h.id} to wait`, async () => ((await statusOf(h)).status === 'WAITING' ? true : undefined));

    let ok = true;
    await Promise.all([waiting(r1), waiting(r2)]);
    const e1 = await statusOf(r1);
    const wait1 = (await engine.admin.getExecution(r1.id))!.steps.find((s) => s.key === 'signal:decision:1')!.wait!;
    const plannedMs = wait1.timeoutAt!.getTime() - wait1.since.getTime();
    say(`r-1 and r-2 wait at once on a worker with one slot: r-1 is ${e1.status}, lease owner ${e1.leaseOwner ?? 'none'}`);
    say(`r-1: waits for "${wait1.signal}"; the wait times out ${plannedMs / ONE_DAY_MS} day after it began (${plannedMs} ms, on the database clock)`);
    ok &&= e1.leaseOwner === null && plannedMs === ONE_DAY_MS;

    // r-1: a decision through the engine, sent twice under one idempotency key (a retried HTTP call, say).
    const decision = { approved: true, by: 'ana' } satisfies Decision;
    const first = await engine.signal(r1.id, 'decision', decision, { idempotencyKey: `decision:${run}:r-1` });
    const again = await engine.signal(r1.id, 'decision', decision, { idempotencyKey: `decision:${run}:r-1` });
    say(`r-1: ana's decision sent (signal ${first.signalId}); sent again with the same idempotency key: ${again.duplicate ? 'a duplicate, nothing stored' : 'STORED TWICE'}`);
    const res1 = await r1.result({ timeoutMs: 30_000 });
    say(`r-1: ${res1.status} by ${res1.decidedBy} (escalated: ${res1.escalated ? 'yes' : 'no'})`);
    ok &&= !first.duplicate && again.duplicate && res1.status === 'APPROVED' && res1.decidedBy === 'ana' && !res1.escalated;

    // r-2: decided in the application's transaction. The first try breaks the application's own rule
    // after the signal was sent: the transaction rolls back, and with it the signal.
    const refused = await decideInTransaction(engine, r2.id, 'r-2', { approved: true, by: 'bob' }, () => {
      throw new Error('bob may approve at most 1000');
    }).catch((err: unknown) => err as Error);
    const mailbox2 = (await engine.admin.getExecution(r2.id))!.signals.length;
    const still2 = (await statusOf(r2)).status;
    say(`r-2: bob's decision rolled back ("${refused?.message}"): ${mailbox2} signals in the mailbox, the execution still ${still2}`);
    ok &&= refused instanceof Error && mailbox2 === 0 && still2 === 'WAITING';
    await decideInTransaction(engine, r2.id, 'r-2', { approved: false, by: 'ana', note: 'over budget' }, () => {});
    const res2 = await r2.result({ timeoutMs: 30_000 });
    const [rows2] = await engine.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM approval_decisions WHERE request_id = 'r-2'`);
    say(`r-2: ${res2.status} by ${res2.decidedBy}: the decision row and its signal committed together (${Number(rows2!.n)} decision row)`);
    ok &&= res2.status === 'REJECTED' && res2.decidedBy === 'ana' && Number(rows2!.n) === 1;

    // r-3: nobody answers within its (shortened) timeout; once escalated, the manager decides.
    await until('r-3 to be escalated', async () => {
      const detail = (await engine.admin.getExecution(r3.id))!;
      const escalated = detail.steps.some((s) => s.key === 'escalate' && s.status === 'COMPLETED');
      return escalated && detail.execution.status === 'WAITING' ? true : undefined;
    });
    const timedOut = (await engine.admin.getExecution(r3.id))!.steps.find((s) => s.key === 'signal:decision:1')!;
    say(`r-3: nobody answered within ${SHORT_TIMEOUT_MS} ms (a day in production): its wait ${timedOut.status} with ${timedOut.error?.code}, escalated to carol`);
    await engine.signal(r3.id, 'decision', { approved: true, by: 'carol' } satisfies Decision);
    const res3 = await r3.result({ timeoutMs: 30_000 });
    say(`r-3: ${res3.status} by ${res3.decidedBy} (escalated: ${res3.escalated ? 'yes' : 'no'})`);
    ok &&= timedOut.error?.code === 'WAIT_TIMEOUT' && res3.status === 'APPROVED' && res3.decidedBy === 'carol' && res3.escalated;
    await worker.stop();

    for (const [name, h] of [['r-1', r1], ['r-2', r2], ['r-3', r3]] as const) {
      const { signals } = (await engine.admin.getExecution(h.id))!;
      say(`mailbox of ${name}: ${signals.map((s) => `${s.name} consumed by ${s.consumedBy ?? 'nobody'}`).join(', ')}`);
      ok &&= signals.length === 1 && signals[0]!.consumedBy !== null;
    }
    const notes = await engine.db.query<{ request_id: string; recipient: string; what: string }>(
      'SELECT request_id, recipient, what FROM approval_notifications ORDER BY request_id, what',
    );
    say('notifications:');
    for (const n of notes) say(`  ${n.request_id} → ${n.recipient}: ${n.what}`);
    ok &&= notes.length === 7; // each request: its approver and its requester; r-3 also its manager
    say(ok ? 'OK: three requests decided, each decision consumed exactly once; the unanswered one was escalated' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
