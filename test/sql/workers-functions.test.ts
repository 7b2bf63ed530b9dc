/**
 * The workers registry's SQL functions, on the database clock pinned per transaction (aries.now):
 * register_worker, heartbeat_worker, deregister_worker, worker_status and list_workers.
 */
import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { listWorkers } from '../../src/db/workers.js';
import { describeBackends } from '../helpers/backends.js';
import { sqlStartClaimed } from '../helpers/sql.js';

const T0 = Date.parse('2031-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

describeBackends('workers registry SQL functions', (b) => {
  /** Runs `body` in one transaction whose aries.now() is T0 + ms. */
  const atTime = <T>(ms: number, body: (tx: Queryable) => Promise<T>) =>
    b.engine.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(ms)]);
      return body(tx);
    });
  const register = (tx: Queryable, id: string, leaseMs = 1_000) =>
    tx.query(
      `SELECT aries.register_worker(p_worker_id => $1, p_host => 'host-a', p_pid => 4242, p_workflows => ARRAY['wf@1', 'other@2'],
                                    p_concurrency => 7, p_lease_ms => $2)`,
      [id, leaseMs],
    );
  const heartbeat = async (tx: Queryable, id: string) =>
    (await tx.query<{ ok: boolean }>('SELECT aries.heartbeat_worker(p_worker_id => $1) AS ok', [id]))[0]!.ok;
  const deregister = async (tx: Queryable, id: string) =>
    (await tx.query<{ ok: boolean }>('SELECT aries.deregister_worker(p_worker_id => $1) AS ok', [id]))[0]!.ok;
  const find = async (tx: Queryable, id: string) => (await listWorkers(tx)).find((w) => w.worker === id);

  test('a registered worker holding no lease is listed live, with its workflows, concurrency and heartbeat on the database clock', async () => {
    await atTime(0, (tx) => register(tx, 'idle-1'));
    const w = await atTime(500, (tx) => find(tx, 'idle-1'));
    expect(w).toMatchObject({
      status: 'live',
      host: 'host-a',
      pid: 4242,
      workflows: ['wf@1', 'other@2'],
      concurrency: 7,
      leaseMs: 1_000,
      executions: 0,
      stoppedAt: null,
      earliestLeaseExpiry: null,
    });
    expect(w!.startedAt!.toISOString()).toBe(at(0));
    expect(w!.heartbeatAt!.toISOString()).toBe(at(0));
  });

  test('heartbeat_worker keeps a worker live; three lease lengths without one make it stale', async () => {
    await atTime(0, (tx) => register(tx, 'beat-1'));
    expect(await atTime(2_500, (tx) => heartbeat(tx, 'beat-1'))).toBe(true);
    expect(await atTime(5_500, (tx) => find(tx, 'beat-1'))).toMatchObject({ status: 'live' });
    expect((await atTime(5_500, (tx) => find(tx, 'beat-1')))!.heartbeatAt!.toISOString()).toBe(at(2_500));
    expect(await atTime(5_501, (tx) => find(tx, 'beat-1'))).toMatchObject({ status: 'stale' });
    // A late heartbeat brings it back; one read on an earlier clock never moves it backwards.
    expect(await atTime(9_000, (tx) => heartbeat(tx, 'beat-1'))).toBe(true);
    expect(await atTime(8_000, (tx) => heartbeat(tx, 'beat-1'))).toBe(true);
    expect((await atTime(9_000, (tx) => find(tx, 'beat-1')))!).toMatchObject({ status: 'live' });
    expect((await atTime(9_000, (tx) => find(tx, 'beat-1')))!.heartbeatAt!.toISOString()).toBe(at(9_000));
  });

  test('deregister_worker marks a clean stop; its heartbeat is then refused, and registering again is a new start', async () => {
    await atTime(0, (tx) => register(tx, 'stop-1'));
    expect(await atTime(1_000, (tx) => deregister(tx, 'stop-1'))).toBe(true);
    expect(await atTime(1_000, (tx) => deregister(tx, 'stop-1'))).toBe(false);
    const w = await atTime(1_100, (tx) => find(tx, 'stop-1'));
    expect(w).toMatchObject({ status: 'stopped' });
    expect(w!.stoppedAt!.toISOString()).toBe(at(1_000));
    expect(await atTime(1_200, (tx) => heartbeat(tx, 'stop-1'))).toBe(false);
    expect(await atTime(1_200, (tx) => heartbeat(tx, 'never-registered'))).toBe(false);
    await atTime(2_000, (tx) => register(tx, 'stop-1'));
    const again = await atTime(2_000, (tx) => find(tx, 'stop-1'));
    expect(again).toMatchObject({ status: 'live', stoppedAt: null });
    expect(again!.startedAt!.toISOString()).toBe(at(2_000));
  });

  test("register_worker prunes other workers stopped or silent for over an hour, not recent ones", async () => {
    await atTime(0, async (tx) => {
      await register(tx, 'old-stopped');
      await deregister(tx, 'old-stopped');
      await register(tx, 'old-silent');
    });
    await atTime(3_000_000, (tx) => register(tx, 'recent'));
    await atTime(3_600_001, (tx) => register(tx, 'newcomer'));
    const ids = (await atTime(3_600_001, (tx) => listWorkers(tx))).map((w) => w.worker);
    expect(ids).toEqual(expect.arrayContaining(['recent', 'newcomer']));
    expect(ids).not.toContain('old-stopped');
    expect(ids).not.toContain('old-silent');
  });

  test('list_workers joins the leases a worker holds, and lists a lease owner without a row from its leases', async () => {
    const { id } = await sqlStartClaimed(b.engine.db, 'wk-leases');
    const [owner] = await b.engine.db.query<{ lease_owner: string }>('SELECT lease_owner FROM aries.executions WHERE id = $1', [id]);
    const unregistered = (await listWorkers(b.engine.db)).find((w) => w.worker === owner!.lease_owner);
    expect(unregistered).toMatchObject({ status: 'live', host: null, executions: 1, expired: 0, heartbeatAt: null });
    await b.engine.db.query(
      `SELECT aries.register_worker(p_worker_id => $1, p_host => 'h', p_pid => 1, p_workflows => ARRAY['wk-leases@1'],
                                    p_concurrency => 1, p_lease_ms => 30000)`,
      [owner!.lease_owner],
    );
    expect((await listWorkers(b.engine.db)).find((w) => w.worker === owner!.lease_owner)).toMatchObject({
      status: 'live',
      host: 'h',
      executions: 1,
      earliestLeaseExpiry: expect.any(Date),
    });
    // Its lease expired and no heartbeat for three lease lengths: stale, with the expired lease counted.
    const later = await b.engine.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', (now() + interval '2 minutes')::text, true)`);
      return (await listWorkers(tx)).find((w) => w.worker === owner!.lease_owner);
    });
    expect(later).toMatchObject({ status: 'stale', executions: 1, expired: 1 });
  });
});
