import { describe, expect, test } from 'vitest';
import { runCli } from '../fixtures/cli-process.js';
import { BACKENDS } from '../helpers/backends.js';
import { useCliWorker } from '../helpers/cli-worker.js';

/**
 * `aries start <workflow> --batch`: one execution per JSON line on stdin, started in batches through
 * engine.startMany, ids printed in the order read; a bad line is refused naming it, with nothing of its
 * batch started. Real processes, both backends (on PGlite through the worker holding the data dir).
 */
for (const backend of BACKENDS) {
  describe(`aries start --batch [${backend}]`, () => {
    const place = useCliWorker(backend, {
      name: `cli-batch-${backend}`,
      fixture: 'test/fixtures/cli-workflows.ts',
      workerArgs: ['--concurrency', '8'],
      workflows: ['cli-double@1'],
    });

    test('25 lines in batches of 10: 25 ids in order, each execution with the input of its line; a rerun with the same keys starts nothing', async () => {
      const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ input: i, idempotencyKey: `line-${i}` }));
      const stdin = `${lines.join('\n')}\n\n`; // a blank line is skipped
      const first = await runCli(['start', 'cli-double', '--batch', '--batch-size', '10', '--json', ...place.connection], { stdin });
      expect(first.code, first.stderr).toBe(0);
      const started = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; created: boolean });
      expect(started).toHaveLength(25);
      expect(started.every((s) => s.created)).toBe(true);
      for (const i of [0, 12, 24]) {
        const { id } = started[i]!;
        const waited = await runCli(['status', id, '--json', ...place.connection]);
        expect(waited.code, waited.stderr).toBe(0);
        const detail = JSON.parse(waited.stdout) as { execution: { input: number } };
        expect(detail.execution.input).toBe(i);
      }
      const again = await runCli(['start', 'cli-double', '--batch', ...place.connection], { stdin });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout.trim().split('\n')).toEqual(started.map((s) => s.id));
    });

    test('a bad line is refused naming it; its batch starts nothing, earlier batches stay started', async () => {
      const stdin = ['{"input": 1}', '{"input": 2}', '{"input": 3}', 'not json', '{"input": 5}'].join('\n');
      const result = await runCli(['start', 'cli-double', '--batch', '--batch-size', '2', ...place.connection], { stdin });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/stdin line 4 is not valid JSON/);
      expect(result.stdout.trim().split('\n')).toHaveLength(2); // lines 1–2 were one batch, started
      const field = await runCli(['start', 'cli-double', '--batch', ...place.connection], { stdin: '{"inputs": 1}\n' });
      expect(field.code).toBe(1);
      expect(field.stderr).toMatch(/stdin line 1: unknown field "inputs"/);
      const flags = await runCli(['start', 'cli-double', '--batch', '--input', '1', ...place.connection], { stdin: '' });
      expect(flags.code).toBe(2);
      expect(flags.stderr).toContain('--input does not go with it');
    });
  });
}
