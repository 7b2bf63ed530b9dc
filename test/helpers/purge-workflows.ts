/**
 * Workflows that leave a row in every table an execution touches, for the purge and roles tests: steps,
 * a retried attempt (a failure), a compensation, a signal wait with its mailbox, and a child.
 */
import { defineWorkflow, PermanentError } from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';

export const attempts = new Map<string, number>();

export const purgeChild = defineWorkflow('purge-child', async (ctx, input: { secret: string }) => ctx.step('echo', () => input.secret.length));

/** Charges (failing its first attempt, retried), waits for 'confirm', starts a child, and returns. */
export const purgeOrder = defineWorkflow('purge-order', async (ctx, input: { secret: string; fail?: boolean }) => {
  const card = await ctx.step('card', () => `card for ${input.secret}`, { compensate: () => {} });
  await ctx.step(
    'charge',
    () => {
      const n = (attempts.get(ctx.executionId) ?? 0) + 1;
      attempts.set(ctx.executionId, n);
      if (n === 1) throw new Error(`gateway timeout charging ${input.secret}`);
      return `charged ${card}`;
    },
    { retry: { initialDelayMs: 1, maxDelayMs: 1, jitter: 'none' } },
  );
  const confirmed = await ctx.waitForSignal<string>('confirm');
  const length = await ctx.child('sub', purgeChild, { secret: input.secret });
  if (input.fail) {
    await ctx.step('ship', () => {
      throw new PermanentError(`cannot ship ${input.secret}`);
    });
  }
  return { confirmed, length };
});

/** The aries tables with a row whose text mentions `text`, with how many such rows. */
export async function tablesMentioning(db: Queryable, text: string): Promise<Record<string, number>> {
  const tables = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'aries' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  const found: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries."${name}" x WHERE strpos(x::text, $1) > 0`, [text]);
    if (row!.n > 0) found[name] = row!.n;
  }
  return found;
}
