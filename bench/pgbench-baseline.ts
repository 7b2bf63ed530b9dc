/**
 * The same single-row INSERT commit rate measured by pgbench (C clients, no Node in the loop), when
 * pgbench is installed: a reference for how much of the Node baseline's limit is the client side.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function measurePgbench(url: string, clients: number, seconds: number): Promise<number | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'aries-bench-pgbench-'));
  try {
    const script = join(dir, 'insert.sql');
    writeFileSync(script, 'INSERT INTO bench_commits(v) VALUES (1);\n');
    const out = await new Promise<string | undefined>((resolve) => {
      execFile(
        'pgbench',
        ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', script, url],
        { encoding: 'utf8' },
        (err, stdout) => resolve(err ? undefined : stdout),
      );
    });
    const match = out?.match(/tps = ([\d.]+)/);
    return match ? Number(match[1]) : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
