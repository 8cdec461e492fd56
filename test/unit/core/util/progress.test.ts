/**
 * Progress display (core/util/progress.ts): the count and ETA text, and the pacing that keeps a
 * per-step training loop from flooding a terminal. The clock is injected: no test waits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  etaText,
  progressLine,
  ProgressPacer,
  stepCount,
  type ProgressUpdate,
} from '../../../../src/core/util/progress';

test('the ETA is coarse: a few seconds, 5 s steps under a minute, then minutes, then half hours', () => {
  assert.equal(etaText(4_000), 'a few seconds left');
  assert.equal(etaText(12_000), 'about 10 s left');
  assert.equal(etaText(38_000), 'about 40 s left');
  assert.equal(etaText(59_000), 'about 60 s left');
  assert.equal(etaText(150_000), 'about 3 min left');
  assert.equal(etaText(200_000, true), 'up to 3 min left');
  assert.equal(etaText(2.6 * 3600_000), 'about 2.5 h left');
});

test('a progress line names the step, then the count, the detail and the ETA', () => {
  assert.equal(progressLine({ message: 'Reading the model' }), 'Reading the model');
  const update: ProgressUpdate = {
    message: 'Querying top-20',
    count: stepCount(1200, 5000, 'probes'),
    detail: '1,190 answered, 1,230 of 10,000 requests spent',
  };
  assert.equal(
    progressLine(update, 'about 40 s left'),
    'Querying top-20: 1,200/5,000 probes, 1,190 answered, 1,230 of 10,000 requests spent, about 40 s left',
  );
  assert.equal(
    progressLine({ message: 'Training', count: stepCount(40, 1500, 'training steps', true) }),
    'Training: 40 of at most 1,500 training steps',
  );
  // Nothing to count: no "0/0".
  assert.equal(stepCount(0, 0, 'users measured'), undefined);
  assert.deepEqual(stepCount(7, 5, 'probes'), { done: 5, total: 5, unit: 'probes' });
});

/** A pacer on a clock the test moves by hand. */
function paced(intervalMs: number): {
  at: (ms: number) => void;
  line: (u: ProgressUpdate) => string | null;
} {
  let t = 0;
  const pacer = new ProgressPacer(intervalMs, () => t);
  return { at: (ms) => (t = ms), line: (u) => pacer.line(u) };
}

test('within a step, counts show at most once per interval; a new step and the last count always', () => {
  const p = paced(2000);
  const step = (done: number): ProgressUpdate => ({
    message: 'Training',
    count: stepCount(done, 100, 'training steps'),
  });
  p.at(0);
  assert.equal(p.line({ message: 'Training' }), 'Training');
  p.at(10);
  assert.equal(p.line(step(1)), null, 'too soon after the step began');
  p.at(1999);
  assert.equal(p.line(step(2)), null);
  p.at(2000);
  assert.equal(p.line(step(3)), 'Training: 3/100 training steps');
  p.at(2100);
  assert.equal(p.line(step(100)), 'Training: 100/100 training steps', 'the last count shows');
  assert.equal(p.line(step(100)), null, 'the same line twice is shown once');
  p.at(2200);
  assert.equal(p.line({ message: 'Writing the model' }), 'Writing the model');
});

test("the ETA comes from the step's own rate, only after a few seconds and some progress", () => {
  const p = paced(0);
  const q = (done: number): ProgressUpdate => ({
    message: 'Querying top-20',
    count: stepCount(done, 500, 'probes'),
  });
  // A slow earlier step does not count: the rate is measured from this step's first report.
  p.at(60_000);
  assert.equal(p.line(q(0)), 'Querying top-20: 0/500 probes');
  p.at(62_000);
  assert.equal(p.line(q(20)), 'Querying top-20: 20/500 probes', 'no ETA before 3 s');
  // 100 probes in 10 s: 400 left ≈ 40 s.
  p.at(70_000);
  assert.equal(p.line(q(100)), 'Querying top-20: 100/500 probes, about 40 s left');
  p.at(130_000);
  assert.equal(p.line(q(250)), 'Querying top-20: 250/500 probes, about 1 min left');
  p.at(131_000);
  assert.equal(p.line(q(500)), 'Querying top-20: 500/500 probes', 'nothing left, no ETA');

  // Too little done (under 2% of the count) for a rate worth showing.
  const slow = paced(0);
  const t = (done: number): ProgressUpdate => ({
    message: 'Training',
    count: stepCount(done, 10_000, 'training steps', true),
  });
  slow.at(0);
  slow.line(t(0));
  slow.at(5000);
  assert.equal(slow.line(t(100)), 'Training: 100 of at most 10,000 training steps');
  slow.at(10_000);
  assert.equal(
    slow.line(t(300)),
    'Training: 300 of at most 10,000 training steps, up to 5 min left',
  );
});
