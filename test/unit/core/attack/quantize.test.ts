/**
 * Int8 weight quantization (quantize.ts): the pure function exactly on small arrays, then the
 * attack on sasrec_opset17 with MovieLens — every trained tensor ends up on its own 255-level
 * grid, nothing but initializer data changes, the lists barely move — and the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { int8Scale, quantizeAttack, quantizedWeights } from '../../../../src/core/attack/quantize';
import { trainedWeights } from '../../../../src/core/train/weights';
import { readModel } from '../../../../src/core/onnx/model';
import { sha256File } from '../../../../src/core/util/files';
import { fixture, runCli, tempDir, withoutInitializerData } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';

const DATA = movielensInteractionFile();
const MODEL = fixture('sasrec_opset17.onnx');
const maxAbs = (w: ArrayLike<number>) =>
  Array.from(w).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe('quantizedWeights (pure)', () => {
  test('rounds each entry to the nearest of 255 levels max|w|/127 apart', () => {
    const w = Float32Array.from([1.27, -0.64, 0.333, 0, 0.004, -1.1]);
    const copy = w.slice();
    const q = quantizedWeights(new Map([['w', w]])).get('w')!;
    assert.deepEqual(w, copy, 'the input was modified');
    const scale = Math.fround(1.27) / 127;
    assert.equal(int8Scale(w), scale);
    // Levels 127, −64, 33, 0, 0, −110.
    assert.deepEqual(
      Array.from(q),
      [127, -64, 33, 0, 0, -110].map((level) => Math.fround(level * scale)),
    );
  });

  test('on a random tensor: within half a step, on the grid, the extreme kept; zeros unchanged', () => {
    let state = 7;
    const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const w = Float32Array.from({ length: 5000 }, () => next() * 0.3);
    const zeros = new Float32Array(10);
    const out = quantizedWeights(
      new Map([
        ['w', w],
        ['zeros', zeros],
      ]),
    );
    const q = out.get('w')!;
    const scale = int8Scale(w);
    for (let i = 0; i < w.length; i++) {
      assert.ok(Math.abs(q[i] - w[i]) <= scale / 2 + 1e-7, `entry ${i}`);
      const level = q[i] / scale;
      assert.ok(Math.abs(level - Math.round(level)) < 1e-3 && Math.abs(level) <= 127.0001);
    }
    assert.ok(new Set(q).size <= 255);
    assert.equal(maxAbs(q), Math.fround(maxAbs(w)));
    assert.deepEqual(out.get('zeros'), zeros);
  });
});

describe('quantize attack on sasrec_opset17 with MovieLens', () => {
  test('every trained tensor on its own int8 grid, only initializer data changed, lists kept', async () => {
    const before = await sha256File(MODEL);
    const r = await quantizeAttack({
      model: MODEL,
      out: path.join(tempDir(), 'q.onnx'),
      data: DATA,
    });
    assert.equal(await sha256File(MODEL), before, 'the input model was modified');
    // The same trained tensors as noise (weights.ts), vectors included.
    assert.equal(r.tensors, 29);
    assert.equal(r.parameters, 570_624);
    const original = await readModel(MODEL);
    const quantized = await readModel(r.out);
    assert.deepEqual(
      withoutInitializerData(quantized.proto),
      withoutInitializerData(original.proto),
      'something other than initializer data changed',
    );
    const w0 = trainedWeights(original.proto, 'scores');
    const w1 = trainedWeights(quantized.proto, 'scores');
    let worst = 0;
    for (const [name, w] of w0) {
      const q = w1.get(name)!;
      assert.ok(new Set(q).size <= 255, `${name}: ${new Set(q).size} values`);
      assert.equal(maxAbs(q), maxAbs(w), name);
      worst = Math.max(worst, int8Scale(w) / 2);
    }
    assert.ok(
      r.maxAbsChange > 0 && r.maxAbsChange <= worst + 1e-7,
      `${r.maxAbsChange} vs ${worst}`,
    );
    // Measured: 98.2% of the top-10 lists kept, NDCG@10 0.0293 → 0.0294.
    assert.ok(r.topKOverlap > 0.9, `overlap ${r.topKOverlap}`);
    const [, ndcg] = r.utility;
    assert.ok(Math.abs(ndcg.after / ndcg.before - 1) < 0.05, `NDCG ${ndcg.before} → ${ndcg.after}`);
  });
});

test('CLI: attack quantize --json prints one object and writes OUT; bad input exits 2', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'q.onnx');
  const r = await runCli(['attack', 'quantize', MODEL, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const json = JSON.parse(lines[0]);
  assert.equal(json.attack, 'quantize');
  assert.equal(json.bits, 8);
  assert.equal(json.tensors, 29);
  assert.deepEqual(json.probes, { count: 500, source: 'model' });
  assert.ok(json.maxAbsChange > 0);
  assert.ok(existsSync(out));
  for (const [bad, pattern] of [
    [['attack', 'quantize', MODEL, '--out', out], /already exists; pass --force/],
    [
      ['attack', 'quantize', MODEL, '--out', path.join(dir, 'x.onnx'), '--scale', '1'],
      /takes no amount, not --scale/,
    ],
  ] as const) {
    const e = await runCli([...bad]);
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, pattern);
  }
  assert.deepEqual(readdirSync(dir), ['q.onnx']);
});
