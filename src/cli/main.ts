#!/usr/bin/env node
/**
 * The `aries` command line. Each command lives in its own module under commands/, loaded only when it
 * runs, so `aries --help` answers without loading a database driver. Every command resolves to an exit
 * code; errors are reported in one place (report-error.ts).
 */
import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import { UsageError } from './cli-error.js';
import { reportError } from './report-error.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  dev: { summary: 'run a worker and the API and dashboard in one process', load: () => import('./commands/dev.js') },
  worker: { summary: 'run the workflows a module exports', load: () => import('./commands/worker.js') },
  serve: { summary: 'serve the HTTP API and the dashboard', load: () => import('./commands/serve.js') },
  start: { summary: 'start an execution of a workflow', load: () => import('./commands/start.js') },
  status: { summary: 'show an execution and its steps', load: () => import('./commands/status.js') },
  list: { summary: 'list executions, a page at a time', load: () => import('./commands/list.js') },
  signal: { summary: 'send a signal to an execution (a wait for its name takes it)', load: () => import('./commands/signal.js') },
  cancel: { summary: 'cancel an execution that is not finished (--compensate: undo it)', load: () => import('./commands/cancel.js') },
  purge: { summary: 'delete a finished execution and its history, leaving an audit record', load: () => import('./commands/purge.js') },
  purges: { summary: 'list the audit records of purged executions', load: () => import('./commands/purges.js') },
  failures: { summary: 'list recorded failures', load: () => import('./commands/failures.js') },
  recover: { summary: 'recover a failed execution (or all) from the last valid checkpoint', load: () => import('./commands/recover.js') },
  retry: { summary: 'run a failed or waiting execution again now', load: () => import('./commands/retry.js') },
  workers: { summary: 'list the registered workers (live, stale, stopped) and their leases', load: () => import('./commands/workers.js') },
  queue: { summary: 'list, show or change queues (limits, pause, resume)', load: () => import('./commands/queue.js') },
  schedule: { summary: 'list, show, add, pause, resume, trigger or remove schedules', load: () => import('./commands/schedule.js') },
  retention: { summary: 'show or set retention policies; purge finished executions now', load: () => import('./commands/retention.js') },
  verify: { summary: 'crash a workflow at every boundary and check each recovery', load: () => import('./commands/verify.js') },
  roles: { summary: 'print the SQL of the owner, runtime and read-only database roles', load: () => import('./commands/roles.js') },
  migrate: { summary: 'apply the schema migrations', load: () => import('./commands/migrate.js') },
};

const USAGE = `Usage: aries <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run "aries <command> --help" for a command's options. Every command takes --database-url URL
(default: $DATABASE_URL) or --data-dir DIR (the embedded PGlite data dir, default .aries). Commands
that print results take --json for scripts and print readable tables otherwise.

Options:
  -h, --help      show this help
  -v, --version   print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('no command given', USAGE);
  if (first === '--help' || first === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    process.stdout.write(topic ? (await topic.load()).default.usage : USAGE);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) throw new UsageError(`unknown command "${first}"`, USAGE);
  return (await command.load()).default.run(rest);
}

/** Resolves once `stream` has handed everything written so far to the OS (pipes may be asynchronous). */
const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  code = reportError(err);
}
await Promise.all([drained(process.stdout), drained(process.stderr)]);
// Exit explicitly: an idle keep-alive socket or timer left by a library must not keep the CLI alive.
process.exit(code);
