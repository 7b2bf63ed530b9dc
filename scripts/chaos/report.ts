/**
 * The one table a chaos run prints: what it ran, the faults it injected, and each judgment with its count
 * and verdict (ok, FAIL, warn, or nothing for a figure), then the overall verdict. A failing or warning
 * judgment is followed by up to five of its instances.
 */
import type { ChaosResult } from './run-chaos.js';

const minutes = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

export function formatChaosReport(r: ChaosResult): string {
  const o = r.options;
  const width = 64;
  const row = (label: string, count: number | string, verdict = '') => `| ${label.padEnd(width)} | ${String(count).padStart(7)} | ${verdict.padEnd(4)} |`;
  const rule = `|${'-'.repeat(width + 2)}|${'-'.repeat(9)}|${'-'.repeat(6)}|`;
  const lines = [
    `aries chaos run: seed ${o.seed}, faults for ${minutes(o.durationMs)}, ${o.executions} executions, ${o.workers} workers ` +
      `(concurrency ${o.concurrency}, lease ${o.leaseMs} ms); drained in ${minutes(r.drainMs)}, ${minutes(r.elapsedMs)} in all`,
    '',
    row('fault', 'count'),
    rule,
    row('worker SIGKILLed (and replaced)', r.faults.kill),
    row('worker SIGSTOPped past its lease, then SIGCONT', r.faults.stall),
    row('cluster restarted in immediate mode', r.faults.restart),
    row('worker SIGKILLed, then cluster restarted during the takeover', r.faults.takeover),
    row('worker backends terminated (pg_terminate_backend)', r.faults.terminate),
    row('faults skipped (no worker to pick, nothing to terminate)', r.faults.skipped),
    row('worker processes started in all', r.workersStarted),
    row('starts retried (database down or connection cut)', r.startRetries),
    '',
    row('judgment', 'count', ''),
    rule,
  ];
  const details: string[] = [];
  for (const j of r.judgments) {
    const verdict = j.severity === 'figure' ? '' : j.count === 0 ? 'ok' : j.severity === 'failure' ? 'FAIL' : 'warn';
    lines.push(row(j.label, j.count, verdict));
    if (j.count > 0 && j.severity !== 'figure') details.push(`${j.label}:`, ...j.examples.map((e) => `  ${e}`));
  }
  lines.push(row('workers that died without being killed', r.unexpectedExits.length, r.unexpectedExits.length === 0 ? 'ok' : 'warn'));
  if (r.unexpectedExits.length > 0) details.push('workers that died without being killed:', ...r.unexpectedExits.slice(0, 5).map((e) => `  ${e}`));
  lines.push('', r.failed ? 'VERDICT: FAIL' : 'VERDICT: PASS', `replay: npm run chaos -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}s --executions ${o.executions} --workers ${o.workers} --lease-ms ${o.leaseMs}`);
  if (details.length > 0) lines.push('', ...details);
  lines.push('', `worker logs: ${r.logDir}`);
  return lines.join('\n');
}
