/**
 * Host-side fsync of an embedded data dir's WAL. PGlite runs with fsync=off and, on Node, never flushes
 * its files; after a commit that must survive a power loss, the worker asks for this. Requests that
 * arrive while an fsync is running share the next one (group commit of flushes): N commits cost one
 * flush, not N, and a request never resolves before a flush that began after it was made.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const SEGMENT = /^[0-9A-F]{24}$/;

const isGone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * fsyncs the WAL segments written since `sinceMs` (the newest one always) and the pg_wal directory. A
 * segment a checkpoint removes (or recycles under a new name) between the listing and its flush is
 * skipped: it predates the checkpoint's redo point, so it holds no commit this flush is for.
 */
export async function fsyncWal(dataDir: string, sinceMs: number): Promise<void> {
  const walDir = join(dataDir, 'pg_wal');
  const listed = await Promise.all(
    (await readdir(walDir))
      .filter((f) => SEGMENT.test(f))
      .map(async (f) => {
        try {
          return { f, mtime: (await stat(join(walDir, f))).mtimeMs };
        } catch (err) {
          if (isGone(err)) return undefined;
          throw err;
        }
      }),
  );
  const segments = listed.filter((s) => s !== undefined);
  const newest = Math.max(...segments.map((s) => s.mtime));
  for (const s of segments) {
    if (s.mtime < sinceMs && s.mtime !== newest) continue;
    let handle;
    try {
      handle = await open(join(walDir, s.f), 'r');
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  const dir = await open(walDir, 'r');
  try {
    await dir.sync(); // a segment created since the last flush
  } finally {
    await dir.close();
  }
}

export class GroupFsync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private lastStartMs = 0;
  /** How many flushes ran (for benchmarks and tests). */
  flushes = 0;

  constructor(private readonly dataDir: string) {}

  /** Resolves once a flush that started after this call has finished. */
  request(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    this.next = this.running.catch(() => {}).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    // A second of slack: file mtimes may be coarser than the clock.
    const since = this.lastStartMs - 1_000;
    this.lastStartMs = Date.now();
    this.flushes++;
    this.running = fsyncWal(this.dataDir, since).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
