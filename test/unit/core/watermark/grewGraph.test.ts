import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, graphOf, readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { appendGrewBias } from '../../../../src/core/watermark/grewGraph';
import { mulberry32, tempDir } from '../../../support/helpers';
import { tinyModel } from '../../../support/tinyModel';

/**
 * DESIGN.md §4 by hand: s' = s + δ·u·σ·green·[i in top-Kc], over real items only; with head
 * protection m the best m keep their scores and boosts stop 1e-4·σ below the m-th score.
 */
function expected(
  scores: Float32Array,
  realIds: Int32Array,
  green: Uint8Array,
  delta: number,
  kc: number,
  head: number,
): Float64Array {
  const top = [...realIds].sort((a, b) => scores[b] - scores[a]).slice(0, kc);
  const vals = top.map((id) => scores[id]);
  const max = Math.max(...vals);
  const exps = vals.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const entropy = -exps.reduce((h, e) => h + (e / sum) * Math.log(e / sum), 0);
  const mean = vals.reduce((a, b) => a + b, 0) / kc;
  const sigma = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / kc);
  const bias = delta * (entropy / Math.log(kc)) * sigma;
  const out = Float64Array.from(scores);
  const cap = head > 0 ? scores[top[head - 1]] - 1e-4 * sigma : Infinity;
  top.slice(head).forEach((id) => {
    if (green[id]) out[id] = Math.min(out[id] + bias, cap);
  });
  return out;
}

for (const [allPositions, head] of [
  [false, 0],
  [true, 0],
  [false, 4],
  [true, 4],
] as const) {
  const shape = allPositions ? '[B,T,N]' : '[B,N]';
  test(`the appended GREW nodes compute the formula (${shape} output, head ${head})`, async () => {
    const items = 60;
    const kc = 12;
    const delta = 0.8;
    const dir = tempDir();
    const file = path.join(dir, 'tiny.onnx');
    writeFileSync(file, encodeModel(tinyModel({ items, seqLen: 6, allPositions, seed: 5 })));
    const model = await readModel(file);
    const adapter = detectAdapter(model);
    const rand = mulberry32(3);
    const green = new Uint8Array(items + 1).map((_, id) => (id > 0 && rand() < 0.5 ? 1 : 0));
    const marked = appendGrewBias(model.proto, adapter, { green, delta, kc, protectHead: head });
    const before = await ScoringSession.open(file, adapter);
    const after = await ScoringSession.open(encodeModel(marked), adapter);
    const seqs = [[1, 2, 3], [7], [10, 20, 30, 40, 50, 60, 5]];
    const raw: Float32Array[] = [];
    await before.forEachScores(seqs, (i, s) => (raw[i] = Float32Array.from(s)));
    let changed = 0;
    await after.forEachScores(seqs, (i, s) => {
      const want = expected(raw[i], adapter.itemIds, green, delta, kc, head);
      for (let id = 0; id <= items; id++) {
        assert.ok(Math.abs(s[id] - want[id]) < 1e-4, `seq ${i} id ${id}: ${s[id]} vs ${want[id]}`);
        if (s[id] !== raw[i][id]) changed++;
      }
      assert.equal(s[0], raw[i][0], 'the pad id is never biased');
    });
    assert.ok(changed > 0);
    // Same input and output names: a drop-in replacement.
    assert.deepEqual(
      graphOf(marked).input.map((v) => v.name),
      graphOf(model.proto).input.map((v) => v.name),
    );
    assert.deepEqual(
      graphOf(marked).output.map((v) => v.name),
      graphOf(model.proto).output.map((v) => v.name),
    );
    await before.release();
    await after.release();
  });
}
