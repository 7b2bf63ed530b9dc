/**
 * The workflow of the crash demo: an order in five steps. Each step does ~200 ms of "work", then performs
 * its side effect — one line appended to the side-effects log and fsynced, standing in for a charge or an
 * email — then ~100 ms of wrap-up before it returns. A worker killed in that wrap-up has done the effect
 * without recording the step, which is the case at-least-once delivery and idempotency keys exist for.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { defineWorkflow, type Workflow } from '../index.js';

export const DEMO_WORKFLOW = 'demo-order';
export const DEMO_STEPS = ['reserve-stock', 'charge-card', 'pack-parcel', 'ship-parcel', 'email-receipt'] as const;

export interface DemoInput {
  order: number;
}

export interface DemoOutput {
  order: number;
  tracking: string;
}

/** One line of the side-effects log: one run of one step's side effect. */
export interface EffectLine {
  executionId: string;
  stepKey: string;
  attempt: number;
  idempotencyKey: string;
  /** The worker process that ran it. */
  pid: number;
}

export function expectedDemoOutput(input: DemoInput): DemoOutput {
  return { order: input.order, tracking: trackingNumber(input.order) };
}

function trackingNumber(order: number): string {
  return `AR-${String(order).padStart(4, '0')}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Appends one line and fsyncs it, so the effect survives whatever happens to the process next. */
function appendDurably(path: string, line: string): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Complete lines only: a reader may look while a line is being appended. */
export function readEffects(path: string): EffectLine[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EffectLine);
}

export function createDemoWorkflow(effectsLog: string): Workflow<DemoInput, DemoOutput> {
  return defineWorkflow<DemoInput, DemoOutput>(DEMO_WORKFLOW, async (ctx, input) => {
    const outputs: unknown[] = [];
    for (const key of DEMO_STEPS) {
      outputs.push(
        await ctx.step(key, async ({ executionId, stepKey, attempt, idempotencyKey }) => {
          await sleep(200);
          const effect: EffectLine = { executionId, stepKey, attempt, idempotencyKey, pid: process.pid };
          appendDurably(effectsLog, `${JSON.stringify(effect)}\n`);
          await sleep(100);
          return key === 'ship-parcel' ? trackingNumber(input.order) : `${key} done`;
        }),
      );
    }
    return { order: input.order, tracking: String(outputs[DEMO_STEPS.indexOf('ship-parcel')]) };
  });
}
