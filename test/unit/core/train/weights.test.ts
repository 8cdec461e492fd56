/**
 * "Trained weights only" (weights.ts): the value rules on small arrays, then which tensors are
 * selected on the five fixtures (nothing a fixture trained is dropped: the sizes add up to the
 * parameter counts make_fixtures.py recorded) and on a GREW serve-mode model (exactly the head's
 * constants are left out), and what that changes for noise and pruning on the serve-mode model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { noiseAttack, pruneAttack } from '../../../../src/core/attack/perturb';
import { quantizeAttack } from '../../../../src/core/attack/quantize';
import {
  defaultTrainable,
  trainedWeights,
  valueReason,
  weightSelection,
  type WeightSelection,
} from '../../../../src/core/train/weights';
import { tensorSize } from '../../../../src/core/onnx/graph';
import { graphOf, onnx, readModel } from '../../../../src/core/onnx/model';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { verifyWithKey } from '../../../../src/core/watermark/verify';
import { fixture, FIXTURES, MAIN_FIXTURES, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { SERVE_HEAD_PREFIX, serveModeGrew } from '../../../support/serveGrew';

const DATA = movielensInteractionFile();
const f32 = (values: number[]) => Float32Array.from(values);

describe('valueReason: what learned values look like', () => {
  test('learned-looking tensors pass, whatever their size', () => {
    assert.equal(valueReason(f32([0.1, -0.2])), null);
    assert.equal(valueReason(f32([0.3, 0.1, -0.7])), null);
    const five = Float32Array.from({ length: 100 }, (_, i) => (i % 5) * 0.1 - 0.2);
    assert.equal(valueReason(five), null, 'five distinct values over 100 entries');
    // Int8-quantized weights: at most 255 values, still learned.
    const int8 = Float32Array.from(
      { length: 1000 },
      (_, i) => Math.round(((i * 37) % 255) - 127) / 127,
    );
    assert.equal(valueReason(int8), null);
  });

  test('flags, constants and averaging vectors have too few values', () => {
    assert.equal(valueReason(f32([0, 1, 1, 0, 1, 0, 0, 1])), 'few-values');
    assert.equal(valueReason(new Float32Array(50).fill(0.02)), 'few-values');
    assert.equal(valueReason(f32([0.5, 0.5])), 'few-values');
    const four = Float32Array.from({ length: 100 }, (_, i) => (i % 4) * 0.1);
    assert.equal(valueReason(four), 'few-values');
  });

  test('penalties and masks: any |x| ≥ 1e4 or non-finite entry', () => {
    const penalty = Float32Array.from({ length: 40 }, (_, i) => (i === 0 ? -1e9 : i * 0.01));
    assert.equal(valueReason(penalty), 'mask-or-penalty');
    assert.equal(valueReason(f32([0.1, 0.2, -Infinity])), 'mask-or-penalty');
    assert.equal(valueReason(f32([0.1, Number.NaN, 0.3])), 'mask-or-penalty');
    assert.equal(valueReason(f32([0.1, 9999, 0.3])), null);
  });
});

/** Parameter counts torch reported when the fixtures were made (test/fixtures/metrics.json). */
const METRICS = JSON.parse(readFileSync(path.join(FIXTURES, 'metrics.json'), 'utf8')) as Record<
  string,
  { params: number }
>;

function sizes(proto: onnx.ModelProto): Map<string, number> {
  return new Map(graphOf(proto).initializer.map((t) => [t.name!, tensorSize(t)]));
}

describe('the five fixtures: every trained tensor is selected', () => {
  for (const name of MAIN_FIXTURES) {
    test(name, async () => {
      const { model, adapter } = await inspectModel(fixture(name));
      const expected = JSON.parse(
        readFileSync(fixture(name.replace(/\.onnx$/, '.expected.json')), 'utf8'),
      ) as { itemEmbedding: string; outputProjection: string; tiedOutput: boolean };
      const selection = weightSelection(model.proto, adapter.output);
      // The value rules drop nothing the structural rule keeps on a clean export.
      assert.deepEqual(selection.trained, defaultTrainable(model.proto, adapter.output));
      assert.ok(
        selection.excluded.every((e) => e.reason === 'scalar' || e.reason === 'off-score-path'),
      );
      assert.ok(selection.trained.includes(expected.itemEmbedding));
      assert.ok(selection.trained.includes(expected.outputProjection));
      // torch's parameter count, plus the exporter's folded copy of a tied output embedding.
      const size = sizes(model.proto);
      const total = selection.trained.reduce((s, t) => s + size.get(t)!, 0);
      const folded = expected.tiedOutput ? size.get(expected.outputProjection)! : 0;
      assert.equal(total, METRICS[name].params + folded);
    });
  }
});

describe('a GREW serve-mode SASRec', () => {
  const head = (s: WeightSelection) =>
    Object.fromEntries(
      s.excluded
        .filter((e) => e.name.startsWith(SERVE_HEAD_PREFIX))
        .map((e) => [e.name.slice(SERVE_HEAD_PREFIX.length), e.reason]),
    );

  test("the network's weights are selected, the head's constants are not", async () => {
    const { model } = await serveModeGrew('sasrec_opset17.onnx', DATA);
    const marked = await inspectModel(model);
    const clean = await inspectModel(fixture('sasrec_opset17.onnx'));
    const selection = weightSelection(marked.model.proto, marked.adapter.output);
    assert.deepEqual(
      selection.trained,
      weightSelection(clean.model.proto, clean.adapter.output).trained,
    );
    assert.deepEqual(head(selection), {
      not_item_penalty: 'mask-or-penalty',
      green: 'few-values',
      mean_vec: 'few-values',
      cap_margin: 'scalar',
      inv_ln_kc: 'scalar',
      minus_one: 'scalar',
      delta: 'scalar',
      kc_f: 'scalar',
    });
  });

  /** The serve head's initializers by name, as bytes. */
  async function headBytes(file: string): Promise<Map<string, string>> {
    const { proto } = await readModel(file);
    return new Map(
      graphOf(proto)
        .initializer.filter((t) => t.name!.startsWith(SERVE_HEAD_PREFIX))
        .map((t) => [t.name!, Buffer.from(onnx.TensorProto.encode(t).finish()).toString('hex')]),
    );
  }

  test('noise 0.1, pruning 50% and int8 quantization leave every head constant bit-identical; noise keeps the mark', async () => {
    const { model, key } = await serveModeGrew('sasrec_opset17.onnx', DATA);
    const dir = tempDir();
    const noisy = await noiseAttack({
      model,
      out: path.join(dir, 'noise.onnx'),
      scale: 0.1,
      data: DATA,
    });
    const pruned = await pruneAttack({ model, out: path.join(dir, 'prune.onnx'), fraction: 0.5 });
    const quantized = await quantizeAttack({ model, out: path.join(dir, 'int8.onnx') });
    const original = await headBytes(model);
    assert.equal(original.size, 14, "the head's 14 initializers (grewGraph.ts)");
    assert.deepEqual(await headBytes(noisy.out), original);
    assert.deepEqual(await headBytes(pruned.out), original);
    assert.deepEqual(await headBytes(quantized.out), original);
    // The same tensors as on the clean fixture: 29 for noise, 11 matrices for pruning.
    assert.equal(noisy.tensors, 29);
    assert.equal(pruned.tensors, 11);
    const { proto } = await readModel(noisy.out);
    const before = trainedWeights((await readModel(model)).proto, 'scores');
    const after = trainedWeights(proto, 'scores');
    for (const [name, w] of before)
      assert.ok(
        w.some((x, i) => x !== after.get(name)![i]),
        `${name} got no noise`,
      );
    // Before the rule the head's −1e9 penalty and 0/1 green vector got noise scaled by their own
    // std: z_w 0.57, ABSENT, with 84% of top-10 lists unchanged. Now only the network moves.
    const report = await verifyWithKey({ model: noisy.out, key, data: DATA });
    assert.equal(report.verdict, 'present', `z_w ${report.grew?.z}`);
  });
});
