import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../../src/core/util/random';

// The seeded streams fixtures and attacks depend on: each pair of uniform draws gives two normals.

test('normals: Box–Muller pairs, u1 floored at 1e-12, an odd count drops the last sin', () => {
  const ref = new Rng(42);
  const want = new Float32Array(5);
  for (let i = 0; i < 5; i += 2) {
    const u1 = Math.max(ref.next(), 1e-12);
    const u2 = ref.next();
    const r = Math.sqrt(-2 * Math.log(u1)) * 0.5;
    want[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < 5) want[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  const rng = new Rng(42);
  assert.deepEqual(rng.normals(5, 0.5), want);
  // Six uniform draws were used: the streams continue in step.
  assert.equal(rng.next(), ref.next());
});

test('normalSource: u1 = 1 − next(), cos first, the sin kept for the next call', () => {
  const ref = new Rng(7);
  const want: number[] = [];
  for (let i = 0; i < 2; i++) {
    const u1 = 1 - ref.next();
    const u2 = ref.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    want.push(r * Math.cos(2 * Math.PI * u2), r * Math.sin(2 * Math.PI * u2));
  }
  const normal = new Rng(7).normalSource();
  assert.deepEqual([normal(), normal(), normal(), normal()], want);
});
