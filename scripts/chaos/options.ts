/**
 * The options of `npm run chaos`: how long the faults go on, how many executions and worker processes,
 * the workers' lease, and the seed that makes a run repeatable (the same seed draws the same inputs, the
 * same fault kinds, intervals and victims; what the machine's timing does with them still varies).
 */
export interface ChaosOptions {
  /** How long executions are started and faults injected, before the drain. */
  durationMs: number;
  executions: number;
  workers: number;
  /** Each worker's lease; a stall lasts longer than it. */
  leaseMs: number;
  /** Executions each worker runs at once. */
  concurrency: number;
  seed: number;
  /** Longest the drain may take once the faults stop (default: 3 min, at least 40 leases). */
  drainMs: number;
}

const USAGE = `usage: npm run chaos -- [--duration 10m] [--executions N] [--workers N] [--lease-ms MS] [--concurrency N] [--seed S] [--drain 3m]
  --duration     how long faults are injected (s, m or ms suffix; default 10m)
  --executions   executions started over the run, steps, transactional and saga workflows (default 3000)
  --workers      worker processes alive at once (default 4)
  --lease-ms     the workers' lease (default 2000); a stall lasts 1.5 to 3 leases
  --concurrency  executions each worker runs at once (default 8)
  --seed         the seed of every random choice (default: drawn, and printed)
  --drain        the longest wait for every execution to finish once faults stop (default 3m)`;

/** "10m", "90s", "1500ms" or a bare number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (say 90s, 10m or 1500ms)`);
  const n = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(n * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit]!);
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

export function parseChaosOptions(argv: readonly string[]): ChaosOptions {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    given.set(flag.slice(2), value);
  }
  const known = ['duration', 'executions', 'workers', 'lease-ms', 'concurrency', 'seed', 'drain'];
  for (const name of given.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  const leaseMs = positive('lease-ms', given.get('lease-ms') ?? '2000');
  return {
    durationMs: parseDuration(given.get('duration') ?? '10m'),
    executions: positive('executions', given.get('executions') ?? '3000'),
    workers: positive('workers', given.get('workers') ?? '4'),
    leaseMs,
    concurrency: positive('concurrency', given.get('concurrency') ?? '8'),
    seed: given.has('seed') ? Number(given.get('seed')) >>> 0 : Math.floor(Math.random() * 2 ** 32),
    drainMs: given.has('drain') ? parseDuration(given.get('drain')!) : Math.max(180_000, 40 * leaseMs),
  };
}
