import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemorisationTracker } from '../../../../src/core/watermark/aowSchedule';

const plan = { minSteps: 200, patience: 300, maxBoost: 8, boostGrowth: 2, minGain: 0.1 };

test('memorised only once every prefix ranks first and minSteps have run', () => {
  const t = new MemorisationTracker(4, plan);
  assert.equal(t.observe(100, [1, 1, 1, 1]), 'improving');
  assert.equal(t.observe(200, [1, 1, 1, 1]), 'memorised');
});

test('gives up after `patience` steps without a better ranking, counted from minSteps', () => {
  const t = new MemorisationTracker(4, plan);
  assert.equal(t.observe(200, [2, 1, 1, 1]), 'improving');
  assert.equal(t.observe(490, [2, 1, 1, 1]), 'improving');
  assert.equal(t.observe(500, [3, 1, 1, 1]), 'stalled');
});

test('any improvement restarts the patience clock', () => {
  const t = new MemorisationTracker(4, plan);
  t.observe(200, [5, 3, 1, 1]);
  assert.equal(t.observe(450, [5, 2, 1, 1]), 'improving');
  assert.equal(t.observe(740, [5, 2, 1, 1]), 'improving');
  assert.equal(t.observe(750, [5, 2, 1, 1]), 'stalled');
});

test('a creep smaller than minGain is no progress; reaching all-first always is', () => {
  const t = new MemorisationTracker(1, { ...plan, minSteps: 0 });
  t.observe(10, [3605]);
  assert.equal(t.observe(300, [3580]), 'improving', '0.01 bits');
  assert.equal(t.observe(310, [3560]), 'stalled', 'still within 0.1 bits of the best');
  const u = new MemorisationTracker(1, { ...plan, minSteps: 0 });
  u.observe(10, [3605]);
  assert.equal(u.observe(300, [3300]), 'improving', '0.13 bits');
  assert.equal(u.observe(590, [3300]), 'improving', 'the clock restarted at 300');
});

test('prefixes short of rank 1 gain weight, up to maxBoost; learnt ones keep theirs', () => {
  const t = new MemorisationTracker(3, plan);
  t.observe(200, [2, 1, 4]);
  assert.deepEqual(t.boosts, [2, 1, 2]);
  t.observe(210, [1, 1, 3]);
  assert.deepEqual(t.boosts, [2, 1, 4]);
  for (let s = 220; s < 300; s += 10) t.observe(s, [1, 1, 2]);
  assert.deepEqual(t.boosts, [2, 1, 8]);
  assert.throws(() => t.observe(300, [1, 1]), /expected 3 ranks/);
});

test('distance is 0 exactly when all rank first, and orders partial progress', () => {
  assert.equal(MemorisationTracker.distance([1, 1, 1]), 0);
  assert.ok(MemorisationTracker.distance([2, 1, 1]) < MemorisationTracker.distance([4, 1, 1]));
  assert.ok(MemorisationTracker.distance([2, 2, 1]) > MemorisationTracker.distance([3, 1, 1]));
});
