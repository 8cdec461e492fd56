/**
 * VS Code's progress notification (src/vscode/commands/progress.ts): the same count and ETA
 * lines as the CLI, a few a second at most, and increments that add up to the fraction done.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stepCount } from '../../../src/core/util/progress';
import { install, recorded, resetRecorded } from '../../support/vscodeStub';

install();

test('a training loop shows counts and an ETA, paced, and the bar follows the fraction', async () => {
  resetRecorded();
  const { withCancellableProgress } = await import('../../../src/vscode/commands/progress');
  let t = 0;
  await withCancellableProgress(
    'Embedding',
    (_signal, progress) => {
      progress({ message: 'Reading the model' });
      // 1,000 steps, one every 100 ms: 100 s in all.
      for (let step = 1; step <= 1000; step++) {
        t = step * 100;
        progress({
          message: 'Training',
          fraction: step / 1000,
          count: stepCount(step, 1000, 'training steps'),
          detail: 'loss 0.5',
        });
      }
      return Promise.resolve();
    },
    () => t,
  );
  const lines = recorded.progress;
  assert.equal(lines[0], 'Reading the model');
  assert.equal(lines[1], 'Training: 1/1,000 training steps, loss 0.5');
  // At most one line per 250 ms (steps 1, 4, 7, ...), not one per step.
  assert.equal(lines[2], 'Training: 4/1,000 training steps, loss 0.5');
  assert.ok(lines.length <= 2 + 1000 / 2.5 + 1, `${lines.length} reports`);
  // 600 steps in 60 s since the step began, 399 left.
  assert.ok(
    lines.includes('Training: 601/1,000 training steps, loss 0.5, about 40 s left'),
    lines.slice(190, 210).join(' | '),
  );
  assert.equal(lines.at(-1), 'Training: 1,000/1,000 training steps, loss 0.5');
  const total = recorded.increments.reduce<number>((s, i) => s + (i ?? 0), 0);
  assert.ok(Math.abs(total - 100) < 1e-9, `increments add to ${total}%`);
  assert.ok(recorded.increments.every((i) => i === undefined || i > 0));
});

test('a step without a count still moves the bar, a few times a second', async () => {
  resetRecorded();
  const { withCancellableProgress } = await import('../../../src/vscode/commands/progress');
  let t = 0;
  await withCancellableProgress(
    'Verifying',
    (_signal, progress) => {
      for (let i = 0; i <= 100; i++) {
        t = i * 100;
        progress({ message: 'Sampling probe sequences', fraction: i / 200 });
      }
      return Promise.resolve();
    },
    () => t,
  );
  assert.ok(recorded.progress.every((m) => m === 'Sampling probe sequences'));
  assert.ok(recorded.increments.length > 10 && recorded.increments.length <= 101 / 2.5 + 1);
  const total = recorded.increments.reduce<number>((s, i) => s + (i ?? 0), 0);
  assert.ok(total > 49 && total <= 50, `the bar reached ${total}%`);
});
