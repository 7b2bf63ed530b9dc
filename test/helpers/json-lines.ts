/**
 * A worker child process's output, as the fault suites read it: everything it printed kept for the report
 * (stdout and stderr), and each stdout line that is a JSON object handed to `onEvent` as it arrives.
 */
import type { ChildProcess } from 'node:child_process';

export function followJsonLines<Event>(
  proc: ChildProcess,
  into: { stdout: string; stderr: string },
  onEvent: (event: Event) => void,
): void {
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    into.stdout += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) onEvent(JSON.parse(line) as Event);
  });
  proc.stderr!.on('data', (d: Buffer) => (into.stderr += d.toString()));
}
