/**
 * The built `aries` CLI refusing what it cannot do, each time with one clear line on stderr, the right
 * exit code (2: the command line is wrong; 1: the command failed) and no stack trace for Aries's own
 * errors. None of these needs a running database; the embedded ones use a temporary data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, hasStackTrace, killAllCliProcesses, runCli } from '../fixtures/cli-process.js';

const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/x';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'aries-cli-errors-'));
});
afterEach(killAllCliProcesses);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectOneLineError(result: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(pattern);
  expect(hasStackTrace(result.stderr)).toBe(false);
}

describe('usage', () => {
  test('--help lists the commands on stdout, exit 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['worker', 'start', 'status', 'list', 'signal', 'cancel', 'migrate']) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  test('<command> --help shows that command\'s options', async () => {
    const start = await runCli(['start', '--help']);
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/^Usage: aries start <workflow>/);
    for (const option of ['--input', '--idempotency-key', '--version', '--wait', '--timeout-ms', '--json', '--database-url', '--data-dir']) {
      expect(start.stdout).toContain(option);
    }
    const worker = await runCli(['worker', '-h']);
    expect(worker.stdout).toMatch(/--concurrency N[\s\S]*--lease-ms N/);
  });

  test('an unknown command, or none, prints the usage on stderr, exit 2', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^aries: unknown command "frobnicate"\n\nUsage: aries <command>/);
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: aries <command>');
  });

  test('an unknown option, a missing argument or a bad option value is exit 2 with the command\'s usage', async () => {
    const unknownOption = await runCli(['list', '--colour']);
    expectOneLineError(unknownOption, 2, /^aries: Unknown option '--colour'[\s\S]*Usage: aries list/);
    expectOneLineError(await runCli(['status']), 2, /^aries: missing <execution-id>/);
    expectOneLineError(await runCli(['worker']), 2, /^aries: name at least one module/);
    expectOneLineError(await runCli(['list', '--status', 'DONE']), 2, /^aries: --status must be one of PENDING, RUNNING, .*; got "DONE"/);
    expectOneLineError(await runCli(['list', '--limit', 'ten']), 2, /^aries: --limit must be a positive integer, got "ten"/);
    expectOneLineError(await runCli(['start', 'wf', '--timeout-ms', '5']), 2, /^aries: --timeout-ms needs --wait/);
    expectOneLineError(
      await runCli(['list', '--database-url', UNREACHABLE, '--data-dir', tmp]),
      2,
      /^aries: --database-url and --data-dir name two different databases/,
    );
  });
});

describe('bad input', () => {
  test('malformed --input JSON is INVALID_INPUT naming the problem, before any database is opened', async () => {
    // The unreachable URL shows the input is checked first.
    const result = await runCli(['start', 'wf', '--input', '{name: "x"}', '--database-url', UNREACHABLE]);
    expectOneLineError(result, 1, /^aries: INVALID_INPUT: --input is not valid JSON: .*position 1 \(input: \{name: "x"\}\)\n$/);
  });

  test('signal checks the execution id, the name and --payload before any database is opened', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const offline = ['--database-url', UNREACHABLE];
    expectOneLineError(
      await runCli(['signal', 'not-an-id', 'go', ...offline]),
      1,
      /^aries: EXECUTION_NOT_FOUND: execution not-an-id not found: it is not an execution id \(a UUID\)\n$/,
    );
    expectOneLineError(await runCli(['signal', id, '', ...offline]), 1, /^aries: INVALID_INPUT: <name> must not be empty: a signal needs a name\n$/);
    expectOneLineError(
      await runCli(['signal', id, 'go', '--payload', '{by: "ana"}', ...offline]),
      1,
      /^aries: INVALID_INPUT: --payload is not valid JSON: .* \(payload: \{by: "ana"\}\)\n$/,
    );
    expectOneLineError(await runCli(['signal', id]), 2, /^aries: missing <name>\n\nUsage: aries signal <execution-id> <name>/);
    expectOneLineError(await runCli(['signal', id, 'go', 'extra']), 2, /^aries: unexpected argument "extra"/);
    // A well-formed command line gets as far as the database.
    expectOneLineError(await runCli(['signal', id, 'go', '--payload', '{"by":"ana"}', ...offline]), 1, /^aries: DATABASE_UNREACHABLE: /);
  });

  test('a malformed --database-url is INVALID_DATABASE_URL', async () => {
    for (const url of ['not a url', 'mysql://root@127.0.0.1/x']) {
      const result = await runCli(['list', '--database-url', url]);
      expectOneLineError(result, 1, /^aries: INVALID_DATABASE_URL: database URL ".*" (is malformed|has scheme "mysql")/);
    }
  });

  test('an unreachable database is DATABASE_UNREACHABLE, for every command, also from $DATABASE_URL', async () => {
    for (const args of [['list'], ['status', 'x'], ['start', 'wf'], ['migrate'], ['worker', 'test/fixtures/cli-workflows.ts', '--connect-retry-ms', '0']]) {
      const result = await runCli([...args, '--database-url', UNREACHABLE]);
      expectOneLineError(result, 1, /^aries: DATABASE_UNREACHABLE: cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/x/);
    }
    const fromEnv = await runCli(['list'], { env: childEnv({ DATABASE_URL: UNREACHABLE }) });
    expectOneLineError(fromEnv, 1, /^aries: DATABASE_UNREACHABLE: /);
  });

  test('a module that exports no workflow is refused by name', async () => {
    const result = await runCli(['worker', 'test/fixtures/no-workflow.ts', '--database-url', UNREACHABLE]);
    expectOneLineError(
      result,
      1,
      /^aries: INVALID_DEFINITION: module test\/fixtures\/no-workflow\.ts exports no workflow \(defineWorkflow\)\n$/,
    );
  });

  test('a module that does not exist is refused by name', async () => {
    const result = await runCli(['worker', 'test/fixtures/missing.ts', '--database-url', UNREACHABLE]);
    expectOneLineError(result, 1, /^aries: module test\/fixtures\/missing\.ts not found \(looked for .*missing\.ts\)\n$/);
  });

  test('start --wait on an embedded data dir that no worker holds fails at once instead of waiting forever', async () => {
    const result = await runCli(['start', 'wf', '--wait', '--data-dir', join(tmp, 'data')]);
    expectOneLineError(result, 1, /^aries: --wait: no worker is running on PGlite at .*; start `aries worker <module>` first\n$/);
  });
});
