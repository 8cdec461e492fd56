import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmupCosine } from '../../../../src/core/train/schedule';

test('warm-up rises linearly to the peak, then the cosine falls to floor·peak at the horizon', () => {
  const lr = warmupCosine({ peak: 1e-3, warmup: 50, horizon: 1050, floor: 0.1 });
  assert.ok(Math.abs(lr(1) - 2e-5) < 1e-12);
  assert.ok(Math.abs(lr(25) - 5e-4) < 1e-12);
  assert.ok(Math.abs(lr(50) - 1e-3) < 1e-12);
  // Halfway through the decay the cosine is at its midpoint: floor + (1 − floor)/2.
  assert.ok(Math.abs(lr(550) - 1e-3 * 0.55) < 1e-12);
  assert.ok(Math.abs(lr(1050) - 1e-4) < 1e-12);
  assert.ok(Math.abs(lr(5000) - 1e-4) < 1e-12, 'flat after the horizon');
  for (let s = 51; s < 1050; s++) assert.ok(lr(s + 1) <= lr(s), `non-increasing at ${s}`);
});
