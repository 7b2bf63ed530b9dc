/** What a result was measured on and with: the machine, the runtimes, and the code (git commit). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';

export interface MachineInfo {
  cores: number;
  ramGiB: number;
  cpuModel: string;
  node: string;
  postgres: string | undefined;
  pglite: string | undefined;
  /** The PostgreSQL version PGlite embeds. */
  pglitePostgres: string | undefined;
}

export interface CodeInfo {
  commit: string;
  dirty: boolean;
  /** Changed or untracked paths outside bench/ (the engine code that was measured differs from the commit). */
  changedOutsideBench: string[];
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

function pgliteVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@electric-sql/pglite');
    let dir = dirname(entry);
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === '@electric-sql/pglite') return pkg.version;
      } catch {
        // keep climbing
      }
    }
  } catch {
    // unresolved
  }
  return undefined;
}

export function machineInfo(versions: { postgres?: string | undefined; pglitePostgres?: string | undefined }): MachineInfo {
  return {
    cores: cpus().length,
    ramGiB: totalmem() / 2 ** 30,
    cpuModel: cpuModel(),
    node: process.version,
    postgres: versions.postgres,
    pglite: pgliteVersion(),
    pglitePostgres: versions.pglitePostgres,
  };
}

export function codeInfo(): CodeInfo {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' });
  try {
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const changed = git('status', '--porcelain')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(3));
    return { commit, dirty: changed.length > 0, changedOutsideBench: changed.filter((p) => !p.startsWith('bench/')) };
  } catch {
    return { commit: 'unknown', dirty: false, changedOutsideBench: [] };
  }
}
