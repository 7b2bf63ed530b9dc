/**
 * The embedded data dir holds every input, output and error (its WAL among them), so only its owner may
 * reach it: the dir and every dir below it 0700, every file 0600. PGlite's file layer creates files 0666
 * whatever the umask, so the modes are set here: when the dir is created, at every open and at a clean
 * close. Files PGlite creates while it runs are out of other users' reach anyway, behind the 0700 dir.
 *
 * At open, a data dir that other users could enter (its own mode has group or other bits) is repaired with
 * a warning naming it, since its contents may have been read or changed meanwhile; loose modes below a
 * 0700 dir (files PGlite created in a run that was killed) are tightened without one. A dir owned by
 * another user is refused, as PostgreSQL refuses a data directory it does not own.
 */
import { chmodSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export interface PermissionRepair {
  /** The data dir itself let group or other users in (before the repair). */
  exposed: boolean;
  /** Entries below it whose mode let group or other users in (before the repair). */
  looseEntries: number;
}

function refuseForeignOwner(dir: string, stats: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined || stats.uid === uid) return;
  throw new InvalidInputError(
    `data dir ${dir} belongs to user id ${stats.uid}, not to this process's user (${uid}); ` +
      'run Aries as the user who owns it, or choose another --data-dir',
  );
}

/**
 * Sets the dir tree to 0700 dirs and 0600 files, walking it without recursion (a deep tree cannot overflow
 * the stack) and never following a symbolic link. Returns what was open before.
 */
export function restrictDataDir(dir: string): PermissionRepair {
  const top = lstatSync(dir);
  if (!top.isDirectory()) throw new InvalidInputError(`data dir ${dir} is not a directory`);
  refuseForeignOwner(dir, top);
  const repair: PermissionRepair = { exposed: (top.mode & 0o077) !== 0, looseEntries: 0 };
  const pending: { path: string; stats: Stats }[] = [{ path: dir, stats: top }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { path, stats } = next;
    if (stats.isSymbolicLink()) continue;
    const wanted = stats.isDirectory() ? DIR_MODE : FILE_MODE;
    const mode = stats.mode & 0o777;
    if (path !== dir && (mode & 0o077) !== 0) repair.looseEntries++;
    if (mode !== wanted) chmodSync(path, wanted);
    if (stats.isDirectory()) {
      for (const entry of readdirSync(path)) {
        const child = join(path, entry);
        pending.push({ path: child, stats: lstatSync(child) });
      }
    }
  }
  return repair;
}

/** The warning for a data dir found reachable by other users at open, or undefined when it was not. */
export function exposureWarning(dir: string, repair: PermissionRepair): string | undefined {
  if (!repair.exposed) return undefined;
  return (
    `data dir ${dir} was reachable by other users (it had group or other permissions, as had ${repair.looseEntries} ` +
    'entries in it); it is now 0700 with its files 0600. Anyone with access meanwhile could have read its inputs ' +
    'and outputs or changed its data'
  );
}
