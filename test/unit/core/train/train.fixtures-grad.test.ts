/**
 * End-to-end gradient check on every real fixture: forward graph + loss = Σ scores·R (R fixed
 * random), shape probe at batch 2 with real MovieLens sequences, GRU unrolling / static-If
 * inlining, the training graph with EVERY float initializer trainable, then one directional
 * derivative Σ grad·v against the central difference (L(w+εv) − L(w−εv)) / 2ε. A wrong or
 * missing rule on any real model's gradient path fails here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx, readModel } from '../../../../src/core/onnx/model';
import { loadOrt } from '../../../../src/core/onnx/ort';
import { encodeBatch } from '../../../../src/core/onnx/session';
import { buildTrainingGraph } from '../../../../src/core/train/autodiff';
import type { ValueShape } from '../../../../src/core/train/emitter';
import { NON_DIFFERENTIABLE } from '../../../../src/core/train/gradients';
import {
  rewriteForTraining,
  inlineStaticIf,
  unrollRecurrent,
} from '../../../../src/core/train/rewrite';
import { probeShapes } from '../../../../src/core/train/shapes';
import { fixture, MAIN_FIXTURES, mulberry32 } from '../../../support/helpers';
import { movielensSequences } from '../../../support/movielens';

const { DataType } = onnx.TensorProto;

let cachedSequences: number[][] | null = null;
/**
 * Real histories: a short one (padding, NARM's length input) and a long one (truncated), then
 * (for larger batches) whole users in order.
 */
function batch(size: number): number[][] {
  cachedSequences ??= movielensSequences();
  const long = cachedSequences.find((s) => s.length > 80)!;
  return [cachedSequences[0].slice(0, 9), long, ...cachedSequences.slice(1, size - 1)];
}

async function feedsFor(file: string, size = 2) {
  const model = await readModel(file);
  const adapter = detectAdapter(model);
  const { Tensor } = await loadOrt();
  const { rows, lengths } = encodeBatch(adapter, batch(size));
  const shape = [size, adapter.seqLen];
  const ints = (v: Int32Array, dims: number[]): OrtTensor =>
    adapter.inputType === 'int64'
      ? new Tensor(
          'int64',
          BigInt64Array.from(v, (x) => BigInt(x)),
          dims,
        )
      : new Tensor('int32', Int32Array.from(v), dims);
  const feeds: Record<string, OrtTensor> = { [adapter.input]: ints(rows, shape) };
  if (adapter.lengthInput) feeds[adapter.lengthInput] = ints(lengths, [size]);
  return { model, adapter, feeds };
}

/** The op types of nodes that lie between a trainable weight and the loss. */
function gradientPathOps(graph: onnx.GraphProto, trainable: string[], loss: string): string[] {
  const requires = new Set(trainable);
  for (const n of graph.node) {
    if (NON_DIFFERENTIABLE.has(n.opType ?? '')) continue;
    if ((n.input ?? []).some((i) => requires.has(i)))
      for (const o of n.output ?? []) requires.add(o);
  }
  const reaches = new Set([loss]);
  const ops = new Set<string>();
  for (let k = graph.node.length - 1; k >= 0; k--) {
    const n = graph.node[k];
    if (!(n.output ?? []).some((o) => reaches.has(o))) continue;
    if (!(n.input ?? []).some((i) => requires.has(i))) continue;
    ops.add(n.opType ?? '');
    for (const i of n.input ?? []) if (requires.has(i)) reaches.add(i);
  }
  return [...ops].sort();
}

/**
 * ReLU kinks: a central difference over ~300k weights at once steps across some of them, which
 * costs SASRec ~1e-2 of relative error at ε = 2e-4 (6e-2 at 1e-3). So every fixture runs as
 * exported with ε = 2e-4 and a 3e-2 tolerance, and the ReLU models run once more with ReLU
 * swapped for Softplus (smooth, its own rule) at ε = 1e-3 and a 1e-2 tolerance.
 */
const RUNS = [
  ...MAIN_FIXTURES.map((name) => ({ name, smooth: false, eps: 2e-4, tol: 3e-2 })),
  ...['sasrec_opset17.onnx', 'sasrec_opset13.onnx'].map((name) => ({
    name,
    smooth: true,
    eps: 1e-3,
    tol: 1e-2,
  })),
];

for (const { name, smooth, eps, tol } of RUNS) {
  const label = `${name}${smooth ? ' with Relu → Softplus' : ''}`;
  test(`fixture gradients: ${label} (directional derivative vs central differences)`, async (t) => {
    const { model, adapter, feeds } = await feedsFor(fixture(name));
    const { InferenceSession, Tensor } = await loadOrt();
    const rand = mulberry32(11);

    // Forward + loss = Σ scores·R.
    const first = await probeShapes(model.proto, feeds);
    const scoreDims = first.get(adapter.output)!.dims;
    const size = scoreDims.reduce((a, b) => a * b, 1);
    const r = Float32Array.from({ length: size }, () => rand() * 2 - 1);
    const forward = cloneModel(model.proto);
    const graph = graphOf(forward);
    if (smooth) for (const n of graph.node) if (n.opType === 'Relu') n.opType = 'Softplus';
    graph.initializer.push(
      onnx.TensorProto.create({
        name: 'gradcheck/R',
        dims: scoreDims,
        dataType: DataType.FLOAT,
        rawData: new Uint8Array(r.buffer),
      }),
    );
    graph.node.push(
      onnx.NodeProto.create({
        opType: 'Mul',
        input: [adapter.output, 'gradcheck/R'],
        output: ['gradcheck/yr'],
        name: 'gradcheck/Mul',
      }),
      onnx.NodeProto.create({
        opType: 'ReduceSum',
        input: ['gradcheck/yr'],
        output: ['gradcheck/loss'],
        name: 'gradcheck/ReduceSum',
        attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      }),
    );
    graph.output = [onnx.ValueInfoProto.create({ name: 'gradcheck/loss' })];

    let shapes: Map<string, ValueShape> = await probeShapes(forward, feeds);
    const rewritten = rewriteForTraining(forward, shapes);
    if (rewritten.changed) shapes = await probeShapes(rewritten.proto, feeds);
    const weights = (model.proto.graph!.initializer as onnx.TensorProto[]).filter(
      (w) => w.dataType === DataType.FLOAT,
    );
    const trainable = weights.map((w) => w.name);
    const training = buildTrainingGraph(rewritten.proto, 'gradcheck/loss', trainable, shapes);
    const ops = gradientPathOps(graphOf(rewritten.proto), trainable, 'gradcheck/loss');
    t.diagnostic(`${label}: ops on the gradient path: ${ops.join(', ')}`);

    const base = weights.map((w) => tensorFloat32(w));
    const v = base.map((b) => Float32Array.from(b, () => rand() * 2 - 1));
    const session = await InferenceSession.create(encodeModel(training.proto));
    const run = async (scale: number) => {
      const all: Record<string, OrtTensor> = { ...feeds };
      weights.forEach((w, k) => {
        const data = Float32Array.from(base[k], (x, i) => x + scale * v[k][i]);
        all[w.name] = new Tensor('float32', data, w.dims.map(Number));
      });
      return session.run(all);
    };
    try {
      const at = await run(0);
      let analytic = 0;
      weights.forEach((w, k) => {
        const g = at[training.gradients.get(w.name)!].data as Float32Array;
        for (let i = 0; i < g.length; i++) analytic += g[i] * v[k][i];
      });
      const lossOf = (o: Record<string, OrtTensor>) => (o[training.loss].data as Float32Array)[0];
      const numeric = (lossOf(await run(eps)) - lossOf(await run(-eps))) / (2 * eps);
      const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric));
      t.diagnostic(
        `${label}: Σ grad·v = ${analytic.toFixed(4)}, central difference ${numeric.toFixed(4)}, rel ${rel.toExponential(2)}`,
      );
      assert.ok(Number.isFinite(analytic) && Math.abs(analytic) > 0);
      assert.ok(rel < tol, `relative error ${rel}`);
    } finally {
      await session.release();
    }
  });
}

for (const name of ['gru4rec.onnx', 'narm.onnx']) {
  test(`rewrites keep the scores: ${name} (unrolled GRU, inlined If; 5 real sequences)`, async () => {
    const { model, adapter, feeds } = await feedsFor(fixture(name), 5);
    const shapes = await probeShapes(model.proto, feeds);
    const rewritten = unrollRecurrent(inlineStaticIf(model.proto, shapes), shapes);
    const ops = new Set(graphOf(rewritten).node.map((n) => n.opType));
    assert.ok(!ops.has('GRU') && !ops.has('If'));
    const { InferenceSession } = await loadOrt();
    const scores = async (proto: onnx.ModelProto): Promise<Float32Array> => {
      const session = await InferenceSession.create(encodeModel(proto));
      try {
        return (await session.run(feeds))[adapter.output].data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const [want, got] = [await scores(model.proto), await scores(rewritten)];
    assert.equal(got.length, want.length);
    const worst = want.reduce(
      (m, x, i) => Math.max(m, Math.abs(x - got[i]) / (1 + Math.abs(x))),
      0,
    );
    assert.ok(worst < 1e-5, `max relative |Δ| ${worst}`);
  });
}
