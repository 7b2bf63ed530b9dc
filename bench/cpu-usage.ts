/**
 * Where the CPU went during a measured interval: this Node process; the PostgreSQL server's processes
 * that serve the benchmark (backends connected to its database, and the shared ones: postmaster, WAL
 * writer, checkpointer, background writer); and everything else on the machine ("other": other
 * databases' backends, other programs), which shows whether the measurement shared the machine.
 * Figures are CPU-seconds per wall-second: on a 2-core machine, 2.0 means every core was busy.
 * Linux only (/proc); elsewhere the server and machine figures are absent.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuSnapshot {
  at: number;
  node: number;
  postgres: number | undefined;
  machineBusy: number | undefined;
}

export interface CpuUse {
  node: number;
  postgres: number | undefined;
  /** Busy CPU not accounted for by this process or the benchmark's server processes. */
  other: number | undefined;
  machine: number | undefined;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a process, in seconds, from /proc/<pid>/stat (fields 14 and 15). */
export function processCpu(pid: string | number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

// A client backend's title: "postgres: <cluster>: <user> <database> <host>(<port>) <state>".
const CLIENT_BACKEND = /^postgres: (?:[^:]*: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/;

/** CPU of the server processes that serve `database`, plus the shared ones (WAL writer, checkpointer…). */
function postgresCpu(database: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  let total = 0;
  for (const pid of pids) {
    let title: string;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    const client = CLIENT_BACKEND.exec(title);
    if (client && client[1] !== database) continue;
    if (!client && title.includes('autovacuum worker') && !title.includes(database)) continue;
    total += processCpu(pid) ?? 0;
  }
  return total;
}

function machineBusy(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal; guest time is already in user
    return (total - idle) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * `database`: the benchmark's database on the server, whose backends count as "postgres" (other
 * databases' backends count as "other"); without one (PGlite), no server process counts as the bench's.
 */
export function cpuSnapshot(database?: string): CpuSnapshot {
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    node: (u.user + u.system) / 1e6,
    postgres: database === undefined ? undefined : postgresCpu(database),
    machineBusy: machineBusy(),
  };
}

export function cpuSince(start: CpuSnapshot, end: CpuSnapshot): CpuUse {
  const seconds = (end.at - start.at) / 1000;
  const per = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || seconds <= 0 ? undefined : (b - a) / seconds;
  const node = per(start.node, end.node) ?? 0;
  const postgres = per(start.postgres, end.postgres);
  const machine = per(start.machineBusy, end.machineBusy);
  const other = machine === undefined ? undefined : Math.max(0, machine - node - (postgres ?? 0));
  return { node, postgres, other, machine };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until the rest of the machine is quiet (other work below `threshold` cores over a 1 s sample),
 * at most `maxSeconds`. Returns the last sample of other work, so a noisy measurement can be flagged.
 */
export async function waitForQuiet(threshold: number, maxSeconds: number, log: (msg: string) => void): Promise<number | undefined> {
  const deadline = performance.now() + maxSeconds * 1000;
  let warned = false;
  for (;;) {
    const a = cpuSnapshot();
    await sleep(1_000);
    const { node, machine } = cpuSince(a, cpuSnapshot());
    const other = machine === undefined ? undefined : machine - node;
    if (other === undefined || other < threshold) return other;
    if (performance.now() >= deadline) {
      log(`the machine is still busy (${other.toFixed(2)} cores used by other processes); measuring anyway`);
      return other;
    }
    if (!warned) {
      log(`waiting for other processes to go quiet (${other.toFixed(2)} cores busy; up to ${maxSeconds} s) …`);
      warned = true;
    }
  }
}
