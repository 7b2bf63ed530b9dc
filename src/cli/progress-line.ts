/**
 * Progress of a long command on stderr ("recovering 12/40…"), so stdout keeps only the result. On a
 * terminal the line is redrawn in place; anywhere else (a log, a pipe, CI) nothing can be redrawn, so a
 * line is written every `every` items (about 20 lines in all) and for the last one.
 */

export interface ProgressLine {
  /** Item `done` of `total` is under way (1-based). */
  update(done: number, total: number): void;
  /** Ends a redrawn line, so whatever follows starts on a line of its own. */
  end(): void;
}

export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    update(done, total) {
      const text = `${label} ${done}/${total}…`;
      if (tty) {
        stream.write(`\r\x1b[K${text}`);
        drawn = true;
        return;
      }
      const every = Math.max(1, Math.ceil(total / 20));
      if (done === 1 || done === total || done % every === 0) stream.write(`${text}\n`);
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
