/**
 * PGlite keeps no lock on its data directory, and two processes opening one corrupt it. This lock file,
 * beside the data dir (`<dir>.lock`), is the guard: created atomically (O_EXCL), naming the holder's PID,
 * the holder's process start time (so a recycled PID is not mistaken for the holder) and how to reach the
 * holder's control server. A live holder's lock is never taken; a dead holder's is taken over under a
 * second O_EXCL file, so two processes cannot both take over the same stale lock.
 *
 * Holders are of two kinds. A worker (or any engine that runs for long) holds the dir for its lifetime; a
 * command (`aries status`, run in a loop from another terminal) holds it for a moment when no worker does.
 * A short hold must not win over a worker: a worker that finds a command holding the dir marks its claim
 * (`<dir>.lock.next`, created O_EXCL) and waits for the command to end; a command that finds a worker's
 * claim waits for that worker to open the dir and goes through it, rather than taking the dir again.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DataDirLockedError } from '../errors.js';

/** A worker holds the dir for its lifetime; a command for a moment (see above). */
export type HolderRole = 'worker' | 'command';

export interface LockHolder {
  pid: number;
  /** Absent in locks written before holders had roles: taken as a worker's. */
  role?: HolderRole;
  /** Start time of the process in clock ticks since boot (Linux), to tell a recycled PID apart. */
  procStart: string | null;
  hostname: string;
  acquiredAt: string;
  command: string;
  /** The holder's control server, through which other processes use the instance. */
  control?: { port: number; token: string };
}

export function lockPathFor(dataDir: string): string {
  return `${resolve(dataDir)}.lock`;
}

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) follows the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(holder: Pick<LockHolder, 'pid' | 'procStart' | 'hostname'>): boolean {
  if (holder.hostname !== hostname()) return true; // cannot tell from here; never steal across machines
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: the process exists under another user
  }
  const start = processStartTime(holder.pid);
  return holder.procStart === null || start === null || start === holder.procStart;
}

function readHolder(path: string): LockHolder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    return 'unreadable'; // a holder that died between creating and writing the file
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Whether an O_EXCL marker (a takeover guard, a worker's claim) may be removed: it is gone, its writer is
 * dead (PID and start time), or it stayed empty or unreadable for seconds (its writer died mid-write). A
 * marker being written right now reads empty for a moment and must not be mistaken for an abandoned one.
 */
function markerStale(path: string): boolean {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; procStart: string | null; hostname?: string };
    return !isAlive({ pid: m.pid, procStart: m.procStart, hostname: m.hostname ?? hostname() });
  } catch {
    try {
      return Date.now() - statSync(path).mtimeMs > 5_000;
    } catch {
      return true; // gone already
    }
  }
}

function currentCommand(): string {
  return process.argv.slice(1).join(' ') || 'node';
}

/** The live holder of a data dir, if any. */
export function liveHolder(dataDir: string): LockHolder | undefined {
  const holder = readHolder(lockPathFor(dataDir));
  if (holder === 'missing' || holder === 'unreadable') return undefined;
  return isAlive(holder) ? holder : undefined;
}

/** A holder's role, for locks written before holders had one too. */
export function roleOf(holder: LockHolder): HolderRole {
  return holder.role ?? 'worker';
}

function describeHolder(dataDir: string, h: LockHolder): string {
  return `data dir ${resolve(dataDir)} is held by process ${h.pid} (${h.command}) since ${h.acquiredAt}`;
}

export class DataDirLock {
  readonly path: string;
  private holder: LockHolder;
  private released = false;

  private constructor(path: string, holder: LockHolder) {
    this.path = path;
    this.holder = holder;
  }

  static acquire(dataDir: string, role: HolderRole = 'worker', command = currentCommand()): DataDirLock {
    const path = lockPathFor(dataDir);
    const me: LockHolder = {
      pid: process.pid,
      role,
      procStart: processStartTime(process.pid),
      hostname: hostname(),
      acquiredAt: new Date().toISOString(),
      command,
    };
    const content = JSON.stringify(me);
    for (let tries = 0; tries < 5; tries++) {
      if (tryCreate(path, content)) return new DataDirLock(path, me);
      const holder = readHolder(path);
      if (holder === 'missing') continue;
      if (holder !== 'unreadable' && isAlive(holder)) {
        throw new DataDirLockedError(
          `${describeHolder(dataDir, holder)}; PGlite allows one process per data dir. ` +
            'Stop that process, or reach the instance through it (the aries CLI does this by itself)',
          holder.pid,
        );
      }
      if (DataDirLock.takeOver(path, content)) return new DataDirLock(path, me);
      // Another process is mid-takeover (a matter of microseconds): give it a moment before looking again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * (tries + 1));
    }
    throw new DataDirLockedError(`could not acquire ${path}: it keeps changing hands`, 0);
  }

  /**
   * Replaces a dead holder's lock; true when the lock is now ours. Only the process that creates
   * `<lock>.takeover` may do so.
   */
  private static takeOver(path: string, content: string): boolean {
    const guard = `${path}.takeover`;
    if (!tryCreate(guard, JSON.stringify({ pid: process.pid, procStart: processStartTime(process.pid) }))) {
      // Another process is taking over; its guard is cleared only when clearly abandoned.
      if (markerStale(guard)) rmSync(guard, { force: true });
      return false;
    }
    try {
      const holder = readHolder(path);
      if (holder === 'missing' || holder === 'unreadable' || !isAlive(holder)) {
        rmSync(path, { force: true });
        return tryCreate(path, content);
      }
      return false;
    } finally {
      rmSync(guard, { force: true });
    }
  }

  /** Records how other processes reach this holder (written atomically over the lock's content). */
  publishControl(control: { port: number; token: string }): void {
    this.holder = { ...this.holder, control };
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.holder), { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const current = readHolder(this.path);
    if (current !== 'missing' && current !== 'unreadable' && current.pid === process.pid) {
      rmSync(this.path, { force: true });
    }
  }
}

/** A worker waiting for a command's hold on the dir to end. */
export type WaitingWorker = Pick<LockHolder, 'pid' | 'procStart' | 'hostname' | 'command'>;

function claimPathFor(dataDir: string): string {
  return `${lockPathFor(dataDir)}.next`;
}

function readClaim(path: string): WaitingWorker | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as WaitingWorker;
  } catch {
    return undefined; // none, or one being written this instant (it reads complete a moment later)
  }
}

/** The live worker waiting to take the dir from a command, if any. */
export function waitingWorker(dataDir: string): WaitingWorker | undefined {
  const claim = readClaim(claimPathFor(dataDir));
  return claim !== undefined && isAlive(claim) ? claim : undefined;
}

/**
 * A worker's mark that it takes the dir next: commands that see it wait for the worker instead of taking
 * the dir. Only one worker marks at a time; a dead worker's mark is replaced.
 */
export class WorkerClaim {
  private constructor(private readonly path: string) {}

  /** The mark, or undefined when another live worker has made its own. */
  static make(dataDir: string): WorkerClaim | undefined {
    const path = claimPathFor(dataDir);
    const me: WaitingWorker = { pid: process.pid, procStart: processStartTime(process.pid), hostname: hostname(), command: currentCommand() };
    for (let tries = 0; tries < 3; tries++) {
      if (tryCreate(path, JSON.stringify(me))) return new WorkerClaim(path);
      if (!markerStale(path)) return undefined; // another live worker's claim
      rmSync(path, { force: true });
    }
    return undefined;
  }

  withdraw(): void {
    const claim = readClaim(this.path);
    if (claim?.pid === process.pid) rmSync(this.path, { force: true });
  }
}
