/**
 * The crash demo's verdict: from the executions as stored (status, output, journal) and the side-effects
 * log, what happened to every step relative to the kill, whether that is what Aries promises, and a table
 * a newcomer can read.
 *
 * Each step falls in one of three groups:
 *   done before the kill   its completion was journaled before worker #1 died → its effect ran exactly once
 *   in flight at the kill  worker #1 had started it but not recorded it → it ran again on worker #2: at most
 *                          twice in all, always under the same idempotency key
 *   after the kill         worker #2 ran it from the start → exactly once
 */
import type { Execution, JournalRecord } from '../index.js';
import { DEMO_STEPS, expectedDemoOutput, type EffectLine } from './demo-workflows.js';

export interface DemoExecution {
  order: number;
  execution: Execution;
  journal: JournalRecord[];
}

export interface DemoRun {
  executions: DemoExecution[];
  effects: EffectLine[];
  /** Date.now() just before worker #1 was sent SIGKILL. */
  killedAt: number;
  firstPid: number;
  secondPid: number;
}

type Phase = 'done before the kill' | 'in flight at the kill' | 'after the kill';

interface StepVerdict {
  stepKey: string;
  phase: Phase;
  effects: EffectLine[];
}

export interface DemoVerdict {
  ok: boolean;
  problems: string[];
  summary: string;
  table: string;
}

function classify(run: DemoRun, ex: DemoExecution, stepKey: string): StepVerdict {
  const effects = run.effects.filter((e) => e.executionId === ex.execution.id && e.stepKey === stepKey);
  const journaled = (kind: string) =>
    ex.journal.some((r) => r.kind === kind && r.stepKey === stepKey && r.createdAt.getTime() <= run.killedAt);
  let phase: Phase = 'after the kill';
  if (journaled('step_completed')) phase = 'done before the kill';
  else if (journaled('step_started') || effects.some((e) => e.pid === run.firstPid)) phase = 'in flight at the kill';
  return { stepKey, phase, effects };
}

function check(run: DemoRun, ex: DemoExecution, v: StepVerdict, problems: string[]): void {
  const where = `order #${ex.order}, step ${v.stepKey}`;
  const n = v.effects.length;
  const key = `${ex.execution.id}:${v.stepKey}`;
  if (n === 0) problems.push(`${where}: its side effect never ran`);
  if (v.effects.some((e) => e.idempotencyKey !== key)) problems.push(`${where}: ran under more than one idempotency key`);
  const byFirst = v.effects.filter((e) => e.pid === run.firstPid).length;
  const bySecond = v.effects.filter((e) => e.pid === run.secondPid).length;
  if (v.phase === 'done before the kill' && n !== 1) problems.push(`${where}: completed before the kill, yet ran ${n} times`);
  if (v.phase === 'after the kill' && n > 1) problems.push(`${where}: ran ${n} times`);
  if (v.phase === 'in flight at the kill' && (n > 2 || byFirst > 1 || bySecond > 1)) {
    problems.push(`${where}: in flight at the kill, ran ${n} times (${byFirst} on worker #1, ${bySecond} on worker #2)`);
  }
}

function workerLabel(run: DemoRun, pid: number): string {
  if (pid === run.firstPid) return '#1';
  if (pid === run.secondPid) return '#2';
  return `pid ${pid}`;
}

function note(v: StepVerdict): string {
  if (v.phase === 'done before the kill') return 'done before the kill, replayed from the journal';
  if (v.phase === 'after the kill') return '';
  return v.effects.length > 1
    ? 'IN FLIGHT at the kill: effect done, not yet recorded → ran again, same key'
    : 'IN FLIGHT at the kill: effect not yet done → ran once, on worker #2';
}

const pad = (s: string, n: number) => s.padEnd(n);

/**
 * A step that ran again must run under a higher attempt number: its intent was journaled before its side
 * effect, so the next worker knows it had started. The same attempt twice means an intent was lost.
 */
function repeatedAttempts(run: DemoRun): string[] {
  const problems: string[] = [];
  for (const ex of run.executions) {
    for (const stepKey of DEMO_STEPS) {
      const attempts = run.effects.filter((e) => e.executionId === ex.execution.id && e.stepKey === stepKey).map((e) => e.attempt);
      if (attempts.length > 1 && new Set(attempts).size < attempts.length) {
        problems.push(`order #${ex.order} ${stepKey} ran twice as attempt ${attempts[0]}: its journaled intent was lost`);
      }
    }
  }
  return problems;
}

export function judgeDemo(run: DemoRun): DemoVerdict {
  const problems: string[] = [];
  const lines: string[] = [];
  const counts: Record<Phase, number> = { 'done before the kill': 0, 'in flight at the kill': 0, 'after the kill': 0 };
  let twice = 0;

  for (const ex of [...run.executions].sort((a, b) => a.order - b.order)) {
    const { execution } = ex;
    if (execution.status !== 'COMPLETED') problems.push(`order #${ex.order}: execution ${execution.id} is ${execution.status}`);
    const expected = expectedDemoOutput({ order: ex.order });
    if (JSON.stringify(execution.output) !== JSON.stringify(expected)) {
      problems.push(`order #${ex.order}: output ${JSON.stringify(execution.output)}, expected ${JSON.stringify(expected)}`);
    }
    if (ex.journal.some((r) => !r.checksumOk)) problems.push(`order #${ex.order}: a journal record fails its checksum`);

    const result = execution.status === 'COMPLETED' ? `→ tracking ${(execution.output as { tracking?: string }).tracking}` : '';
    lines.push(`  order #${ex.order}   execution ${execution.id}   ${execution.status} ${result}`);
    lines.push(`      ${pad('step', 15)} ${pad('runs', 5)} ${pad('attempt (worker)', 22)} what happened`);
    for (const stepKey of DEMO_STEPS) {
      const v = classify(run, ex, stepKey);
      check(run, ex, v, problems);
      counts[v.phase]++;
      if (v.effects.length > 1) twice++;
      const attempts = v.effects.map((e) => `${e.attempt} (${workerLabel(run, e.pid)})`).join(', ') || '-';
      lines.push(`      ${pad(stepKey, 15)} ${pad(`${v.effects.length}×`, 5)} ${pad(attempts, 22)} ${note(v)}`.trimEnd());
    }
    lines.push('');
  }

  problems.push(...repeatedAttempts(run));

  const total = run.executions.length;
  const ok = problems.length === 0;
  const summary = ok
    ? `SUMMARY: OK: all ${total} executions COMPLETED; the ${counts['done before the kill']} steps completed before the kill ran once each; ` +
      `the ${counts['in flight at the kill']} step(s) in flight at the kill ran at most twice (${twice} twice), always with the same idempotency key and a higher attempt; ` +
      `the ${counts['after the kill']} steps run after the kill ran once each.`
    : `SUMMARY: FAILED: ${problems.join('; ')}`;
  return { ok, problems, summary, table: lines.join('\n') };
}
