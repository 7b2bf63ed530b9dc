/** Runs a file under examples/ as a user would (node with tsx), with DATABASE_URL cleared unless given. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runExample(file: string, env: Record<string, string>, cwd: string): Promise<ExampleRun> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), resolve(ROOT, file)], {
      cwd,
      env: { ...process.env, DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
