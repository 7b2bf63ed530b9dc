/**
 * Group commit for a worker's step writes and execution ends. Every running execution has at most one write outstanding
 * (its context chains them); while a write is in flight, the writes other executions ask for wait and
 * then go together, as one transaction (record_steps_batch): the last completions and output of an
 * execution that returned travel with the others' step writes. Under load that turns N commits into one;
 * when idle, a write goes at once, so batching adds no latency. On a server a few batches may be in
 * flight at once (each on its own pooled connection); PGlite runs one query at a time anyway.
 *
 * Each request is fenced and fails on its own (a lost lease refuses only its execution). If the whole
 * transaction fails (the connection dropped, a deadlock), every request in it gets that error, exactly
 * as if it had been sent alone.
 */
import { strongestDurability, type Durability } from '../core/durability.js';
import type { Database } from '../db/database.js';
import { recordStepsBatch, type StepWriteRequest } from '../db/steps.js';

interface Queued {
  request: StepWriteRequest;
  resolve: (attempt: number | undefined) => void;
  reject: (err: unknown) => void;
}

export interface StepWriter {
  write(request: StepWriteRequest): Promise<number | undefined>;
}

export class StepWriteBatcher implements StepWriter {
  private queue: Queued[] = [];
  private inFlight = 0;

  constructor(
    private readonly db: Database,
    private readonly maxInFlight: number,
    // Bounds one transaction: the rows it locks wait for its commit.
    private readonly maxBatch = 32,
  ) {}

  write(request: StepWriteRequest): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(batch: Queued[]): Promise<void> {
    try {
      const requests = batch.map((q) => q.request);
      // The batch commits at the strongest class it carries; on an embedded data dir, a durable batch
      // that recorded completions or ends is flushed to disk before anyone is told it committed.
      const durability = requests.reduce<Durability>((d, r) => strongestDurability(d, r.durability), 'off');
      const results = await recordStepsBatch(this.db, requests, durability);
      if (durability !== 'off' && this.db.flushToDisk && requests.some((r) => r.completions.length > 0 || r.finish)) {
        await this.db.flushToDisk();
      }
      results.forEach((result, i) => {
        const q = batch[i]!;
        if ('error' in result) q.reject(result.error);
        else q.resolve(result.attempt);
      });
    } catch (err) {
      for (const q of batch) q.reject(err);
    }
  }
}
