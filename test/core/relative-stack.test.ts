import { describe, expect, it } from 'vitest';
import { relativeStack } from '../../src/core/relative-stack.js';

describe('relativeStack', () => {
  const stack = [
    'Error: card declined',
    '    at charge (/home/deploy/app/src/pay.ts:12:5)',
    '    at file:///home/deploy/app/dist/run.js:3:1',
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '    at main (/opt/other/lib.js:1:1)',
  ].join('\n');

  it('takes the working directory out of plain and file-URL frames', () => {
    expect(relativeStack(stack, '/home/deploy/app')).toBe(
      [
        'Error: card declined',
        '    at charge (src/pay.ts:12:5)',
        '    at dist/run.js:3:1',
        '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        '    at main (/opt/other/lib.js:1:1)',
      ].join('\n'),
    );
  });

  it('keeps a stack whose frames lie outside the working directory, and a sibling directory with the same prefix', () => {
    expect(relativeStack('Error: x\n    at f (/home/deploy/application/a.js:1:1)', '/home/deploy/app')).toBe(
      'Error: x\n    at f (/home/deploy/application/a.js:1:1)',
    );
  });

  it('leaves the stack alone when the working directory is the root', () => {
    expect(relativeStack(stack, '/')).toBe(stack);
  });
});
