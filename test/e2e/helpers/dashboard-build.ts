/**
 * The built dashboard the server under test serves. `npm test` builds it into dist/dashboard first; when
 * that build is missing or older than the dashboard's sources (running `vitest` alone while editing it),
 * it is built once into a temporary directory, leaving dist/ alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const SOURCES = join(ROOT, 'dashboard');
const BUILT = join(ROOT, 'dist/dashboard');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

export function dashboardDir(): string {
  const index = join(BUILT, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(SOURCES)) return BUILT;
  const outDir = mkdtempSync(join(tmpdir(), 'aries-dashboard-'));
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(SOURCES, 'vite.config.ts'), '--outDir', outDir, '--logLevel', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return outDir;
}
