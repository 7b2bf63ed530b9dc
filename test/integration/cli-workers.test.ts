/**
 * The workers registry through real `aries worker` processes, on both backends: an idle worker (it holds
 * no lease) is listed live by `aries workers` with its workflows, concurrency and heartbeat; a worker
 * process SIGKILLed stops heartbeating and is shown stale once three lease lengths pass on the database
 * clock; a worker stopped with SIGTERM is shown stopped. On PGlite one process holds the data dir at a
 * time, so the workers run one after another.
 */
import { describe, expect, test } from 'vitest';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { useCliPlace } from '../helpers/cli-worker.js';
import { runCli, startCli, type CliProcess } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-workflows.ts';
const READY = /^aries worker (\S+) running workflows /;

interface ListedWorker {
  worker: string;
  status: string;
  host: string | null;
  pid: number | null;
  workflows: string[];
  concurrency: number | null;
  heartbeatAt: string | null;
  executions: number;
}

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries workers: the registry [${backend}]`, () => {
    const place = useCliPlace(backend, 'cli-workers');

    const cli = (args: string[]) => runCli([...args, ...place.connection]);

    async function listed(): Promise<ListedWorker[]> {
      const r = await cli(['workers', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as ListedWorker[];
    }

    async function startWorker(): Promise<{ proc: CliProcess; id: string }> {
      const proc = startCli(['worker', FIXTURE, '--concurrency', '3', '--lease-ms', '1000', ...place.connection]);
      const line = await proc.waitFor(READY);
      return { proc, id: READY.exec(line)![1]! };
    }

    test('an idle worker is listed live; SIGKILLed it goes stale; a stopped one is shown stopped', { timeout: 120_000 }, async () => {
      const idle = await startWorker();
      const shown = (await listed()).find((w) => w.worker === idle.id);
      expect(shown).toMatchObject({ status: 'live', executions: 0, concurrency: 3, pid: idle.proc.child.pid });
      expect(shown!.workflows).toEqual(expect.arrayContaining(['cli-greet@1', 'cli-double@1', 'cli-echo@2']));
      expect(shown!.heartbeatAt).not.toBeNull();
      const table = await cli(['workers']);
      expect(table.stdout).toMatch(/^WORKER\s+STATUS\s+WORKFLOWS\s+CONCURRENCY\s+HEARTBEAT\s+EXECUTIONS\s+COMPENSATING\s+EXPIRED\s+LEASES END$/m);
      expect(table.stdout).toMatch(new RegExp(`^${idle.id.replace(/[.]/g, '\\.')}\\s+live\\s`, 'm'));

      // Its heartbeat moves while it holds nothing.
      const first = Date.parse(shown!.heartbeatAt!);
      for (let i = 0; ; i++) {
        const now = (await listed()).find((w) => w.worker === idle.id)!;
        if (Date.parse(now.heartbeatAt!) > first) break;
        if (i > 200) throw new Error('the idle worker never heartbeat again');
        await new Promise((r) => setTimeout(r, 100));
      }

      idle.proc.kill('SIGKILL');
      await idle.proc.exited;
      for (let i = 0; ; i++) {
        const now = (await listed()).find((w) => w.worker === idle.id);
        expect(now, 'a killed worker stays listed until pruned').toBeDefined();
        if (now!.status === 'stale') break;
        expect(now!.status).toBe('live');
        if (i > 300) throw new Error('the killed worker never went stale');
        await new Promise((r) => setTimeout(r, 200));
      }

      const clean = await startWorker();
      expect((await listed()).find((w) => w.worker === clean.id)).toMatchObject({ status: 'live' });
      clean.proc.signal('SIGTERM');
      expect((await clean.proc.exited).code).toBe(0);
      const after = await listed();
      expect(after.find((w) => w.worker === clean.id)).toMatchObject({ status: 'stopped' });
      expect(after.find((w) => w.worker === idle.id)).toMatchObject({ status: 'stale' });
      expect(after.filter((w) => w.status === 'live')).toEqual([]);
    });
  });
}
