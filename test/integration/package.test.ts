/**
 * The package as a user gets it: `npm pack`, `npm install <tarball>` into a fresh project, then the
 * library from a plain .mjs file, `npx aries --help`, and `npx aries worker` loading a TypeScript module
 * of that project (which also proves the installed package finds its migrations). It packs the dist/
 * already built by the test command (--ignore-scripts: rebuilding dist here would rewrite files other
 * test files are running).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { killAllCliProcesses, REPO_ROOT, runCli, startCli } from '../fixtures/cli-process.js';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 180_000;

/** The environment without what `npm test` exports (npm_config_*, …), which would steer the inner npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'DATABASE_URL') env[k] = v;
  }
  return env;
}

const npx = (args: string[]) => ({ command: ['npx', '--no-install', 'aries', ...args] });

describe('the packed package', () => {
  let tmp: string;
  let project: string;
  let packedFiles: string[];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'aries-package-'));
    const env = cleanEnv();
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: REPO_ROOT,
      env,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed!.files.map((f) => f.path);

    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'aries-user', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', join(tmp, packed!.filename)], {
      cwd: project,
      env,
      timeout: INSTALL_TIMEOUT_MS,
    });
  }, INSTALL_TIMEOUT_MS + 30_000);

  afterEach(killAllCliProcesses);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('holds the built code, the CLI and the migrations, and not the sources or tests', () => {
    for (const file of [
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/server/api-server.js',
      'dist/dashboard/index.html',
      'sql/migrations/0001_baseline.sql',
    ]) {
      expect(packedFiles).toContain(file);
    }
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  test('a plain .mjs file imports it and runs a workflow on an in-memory engine', async () => {
    writeFileSync(
      join(project, 'hello.mjs'),
      `import { createEngine, defineWorkflow } from 'aries';
const hello = defineWorkflow('hello', async (ctx, input) => ctx.step('greet', () => 'hello, ' + input.name));
const engine = await createEngine({ inMemory: true });
await engine.worker({ workflows: [hello] }).start();
const handle = await engine.start(hello, { name: 'package' });
console.log(JSON.stringify(await handle.result({ timeoutMs: 30000 })));
await engine.close();
`,
    );
    const result = await runCli(['hello.mjs'], { command: [process.execPath], cwd: project, env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('"hello, package"\n');
  });

  test('aries/server serves the API and the packaged dashboard from an installed package', async () => {
    writeFileSync(
      join(project, 'serve.mjs'),
      `import { createEngine } from 'aries';
import { startApiServer } from 'aries/server';
const engine = await createEngine({ inMemory: true });
const server = await startApiServer({ engine, port: 0, noAuth: true });
const health = await (await fetch(server.url + '/api/health')).json();
const page = await (await fetch(server.url + '/')).text();
console.log(JSON.stringify({ backend: health.backend, dashboard: page.includes('<div id="root">') }));
await server.close();
await engine.close();
`,
    );
    const result = await runCli(['serve.mjs'], { command: [process.execPath], cwd: project, env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ backend: 'pglite', dashboard: true });
  });

  test('npx aries --help works', async () => {
    const result = await runCli(['--help'], { ...npx([]), cwd: project, env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: aries <command>/);
  });

  test('npx aries worker loads a TypeScript module of the project, and stops on SIGTERM', async () => {
    writeFileSync(
      join(project, 'wf.ts'),
      `import { defineWorkflow, type WorkflowContext } from 'aries';

interface Order { id: string; total: number }

export const order = defineWorkflow('order', async (ctx: WorkflowContext, input: Order) => {
  const charged: number = await ctx.step('charge', () => input.total);
  return { id: input.id, charged };
});
`,
    );
    const dataDir = join(project, 'data');
    const worker = startCli([], { ...npx(['worker', 'wf.ts', '--data-dir', dataDir]), cwd: project, env: cleanEnv() });
    try {
      await worker.waitFor(new RegExp(`^aries worker \\S+ running workflows order@1 on PGlite at ${dataDir}$`), 90_000);

      const started = await runCli(['start', 'order', '--input', '{"id":"o-1","total":12.5}', '--wait', '--data-dir', dataDir], {
        ...npx([]),
        cwd: project,
        env: cleanEnv(),
      });
      expect(started.code, started.stderr).toBe(0);
      expect(JSON.parse(started.stdout)).toEqual({ id: 'o-1', charged: 12.5 });

      // As a terminal does, signal the whole process group (npx runs the CLI under npm and a shell).
      worker.kill('SIGTERM');
      await worker.exited;
      expect(worker.stdout).toMatch(/^aries worker \S+ stopped$/m);
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    } finally {
      worker.kill('SIGKILL');
    }
  });
});
