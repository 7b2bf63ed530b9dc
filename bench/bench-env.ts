/**
 * A benchmark's own settings from the environment, and the command that reproduces a run (its BENCH_*
 * and own-prefix variables, then the npm script), printed with the results.
 */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function commandLine(prefix: string, script: string): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') || k.startsWith(prefix))
    .map(([k, v]) => `${k}=${/^[\w.,:/@-]*$/.test(v ?? '') ? v : JSON.stringify(v)}`);
  return [...env, `npm run ${script}`].join(' ');
}
