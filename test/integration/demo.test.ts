/**
 * `npm run demo` end to end: the compiled crash demo, run in an empty working directory, kills its first
 * worker mid-execution, lets a second one finish, and exits 0 with its summary only when every execution
 * completed, every completed step ran once and the steps in flight ran at most twice under one key.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO = join(ROOT, 'dist/demo/crash-demo.js');

let cwd: string;
let pid: number | undefined;

beforeAll(() => {
  if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run "npm run build" first (npm test does)`);
  cwd = mkdtempSync(join(tmpdir(), 'aries-demo-'));
});

afterAll(() => {
  // The demo kills its own workers; this only matters if the demo itself had to be killed.
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

test('the crash demo finishes every execution after its worker is killed, and says so', async () => {
  const child = spawn(process.execPath, [DEMO], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  pid = child.pid;
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  pid = undefined;

  expect(code, output).toBe(0);
  expect(output).toContain('SIGKILL sent to worker #1');
  expect(output).toMatch(
    /SUMMARY: OK: all 5 executions COMPLETED; the \d+ steps completed before the kill ran once each; the \d+ step\(s\) in flight at the kill ran at most twice/,
  );
  // The demo worked in its own directory and left its data there.
  expect(existsSync(join(cwd, '.aries-demo'))).toBe(true);
  expect(existsSync(join(cwd, '.aries-demo-effects.log'))).toBe(true);
}, 200_000);
