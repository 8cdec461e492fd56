/**
 * Training a [batch, T, N] export on its last-position rewrite (src/core/train/
 * lastPositionTraining.ts): the same loss, gradients and weights as the full graph and as the
 * export's last-position twin, the per-row position input for right padding, the fallbacks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { LAST_POSITION_INPUT } from '../../../../src/core/onnx/lastPosition';
import { cloneModel, encodeModel, graphOf, onnx } from '../../../../src/core/onnx/model';
import { ortFloatTensor, type OrtFeeds } from '../../../../src/core/onnx/ort';
import type { TrainExample } from '../../../../src/core/train/examples';
import {
  lastPositionForward,
  missingInitializers,
} from '../../../../src/core/train/lastPositionTraining';
import { LOSS_INPUTS, type LossKind } from '../../../../src/core/train/losses';
import {
  prepareTraining,
  type PrepareOptions,
  type PreparedTraining,
} from '../../../../src/core/train/prepareTraining';
import { buildSasrec } from '../../../../src/core/train/sasrecBuilder';
import { train } from '../../../../src/core/train/trainer';
import {
  evaluateLoss,
  runTraining,
  trainingSession,
} from '../../../../src/core/train/trainingSession';
import { defaultTrainable } from '../../../../src/core/train/weights';
import { mulberry32 } from '../../../support/helpers';
import { randomScoresModel, rightPaddedModel } from '../../../support/positionModels';

const adapterOf = (proto: onnx.ModelProto) =>
  detectAdapter({ proto, file: 'memory.onnx', fileBytes: 0, externalFiles: [] });

const SASREC = { numItems: 40, maxLen: 8, hidden: 16, seed: 5 };
const allSasrec = () => buildSasrec({ ...SASREC, output: 'all' });
const lastSasrec = () => buildSasrec({ ...SASREC, output: 'last' });

/** Histories of every length from 1 to past T (truncated), with targets, teachers and pairs. */
function examples(n: number, items: number, T: number, seed: number): TrainExample[] {
  const rand = mulberry32(seed);
  const id = () => 1 + Math.floor(rand() * items);
  return Array.from({ length: n }, (_, i) => ({
    history: Array.from({ length: 1 + ((i * 5) % (T + 4)) }, id),
    target: id(),
    teacher: Float32Array.from({ length: items + 1 }, () => 4 * (rand() - 0.5)),
    positives: [id(), id()],
    negatives: [id(), id()],
  }));
}

/** The loss and every trainable weight's gradient of one batch, at the initial weights. */
async function lossAndGradients(p: PreparedTraining, batch: readonly TrainExample[]) {
  const session = await trainingSession(p.training.proto);
  try {
    const feeds: OrtFeeds = p.feeds(batch);
    for (const [name, value] of p.params) feeds[name] = ortFloatTensor(value, p.dims.get(name)!);
    const result = await runTraining(session, feeds);
    const grads = new Map<string, Float32Array>();
    for (const [name, g] of p.training.gradients) grads.set(name, result[g].data as Float32Array);
    return { loss: (result[p.training.loss].data as Float32Array)[0], grads, feeds };
  } finally {
    await session.release();
  }
}

/** Equal within float tolerance, relative to the largest magnitude of `want` (at least `floor`). */
function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  what: string,
  floor = 1e-6,
) {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = floor;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * scale))
      assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (scale ${scale})`);
  }
}

function assertSameStep(
  got: Awaited<ReturnType<typeof lossAndGradients>>,
  want: Awaited<ReturnType<typeof lossAndGradients>>,
  label: string,
) {
  assertClose([got.loss], [want.loss], 1e-5, `${label}: loss`);
  assert.deepEqual([...got.grads.keys()].sort(), [...want.grads.keys()].sort());
  // Gradients that are zero in exact arithmetic (a key bias under softmax) are float noise: each
  // tensor is compared at no finer than a thousandth of the largest gradient.
  let largest = 0;
  for (const g of want.grads.values()) for (const v of g) largest = Math.max(largest, Math.abs(v));
  for (const [name, g] of want.grads)
    assertClose(got.grads.get(name)!, g, 1e-4, `${label}: ${name}`, 1e-3 * largest);
}

const LOSSES: { loss: LossKind; options: Partial<PrepareOptions> }[] = [
  { loss: 'cross-entropy', options: {} },
  { loss: 'kl', options: { temperature: 2 } },
  { loss: 'margin', options: { margin: 0.5 } },
];

test('an all-position SASRec trains on its last position: the loss and gradients of the full graph and of its last-position twin', async () => {
  const all = allSasrec();
  const last = lastSasrec();
  const adapter = adapterOf(all);
  assert.equal(adapter.outputRank, 3);
  const batch = examples(12, SASREC.numItems, SASREC.maxLen, 3);
  for (const { loss, options } of LOSSES) {
    const common = { examples: batch, batchSize: 16, loss, ...options };
    const rewritten = await prepareTraining({ ...common, model: all, adapter });
    const full = await prepareTraining({ ...common, model: all, adapter, lastPosition: false });
    const twin = await prepareTraining({ ...common, model: last, adapter: adapterOf(last) });
    assert.equal(rewritten.layout.mode, 'rewritten', rewritten.layout.note ?? '');
    assert.equal(rewritten.layout.outputRank, 2);
    assert.equal(rewritten.layout.lastPositionInput, null);
    assert.equal(full.layout.mode, 'all-positions');
    assert.equal(full.layout.note, 'last-position rewrite turned off');
    assert.equal(twin.layout.mode, 'last-position');
    // The head runs on one position: no one-hot position feed, and [B, N] scores.
    const a = await lossAndGradients(rewritten, batch);
    const b = await lossAndGradients(full, batch);
    const c = await lossAndGradients(twin, batch);
    assert.ok(!(LOSS_INPUTS.positions in a.feeds));
    assert.ok(LOSS_INPUTS.positions in b.feeds);
    assert.deepEqual(rewritten.trainable, full.trainable);
    assertSameStep(a, b, `${loss} rewritten vs full`);
    assertSameStep(a, c, `${loss} rewritten vs twin`);
  }
});

test('a few AdamW steps on the rewrite give the weights of the full graph and the twin', async () => {
  const all = allSasrec();
  const last = lastSasrec();
  const adapter = adapterOf(all);
  const lr = 1e-2;
  const steps = 3;
  const weights = (proto: onnx.ModelProto, names: string[]) =>
    new Map(
      graphOf(proto)
        .initializer.filter((t) => names.includes(t.name ?? ''))
        .map((t) => [t.name, tensorFloat32(t)]),
    );
  for (const { loss, options } of LOSSES.slice(0, 2)) {
    const common = {
      examples: examples(48, SASREC.numItems, SASREC.maxLen, 8),
      batchSize: 16,
      loss,
      ...options,
      maxSteps: steps,
      lr,
      seed: 2,
    };
    const a = await train({ ...common, model: all, adapter });
    const b = await train({ ...common, model: all, adapter, lastPosition: false });
    const c = await train({ ...common, model: last, adapter: adapterOf(last) });
    assert.equal(a.layout.mode, 'rewritten');
    assert.equal(a.steps, steps);
    const curve = (r: typeof a) => r.curve.map((x) => x.loss);
    assertClose(curve(a), curve(b), 1e-5, `${loss}: curve vs full`);
    assertClose(curve(a), curve(c), 1e-5, `${loss}: curve vs twin`);
    // AdamW moves a weight by about lr per step whatever its gradient's size, so float noise in
    // a gradient that is zero in exact arithmetic (a key bias under softmax) moves it by a part
    // of lr: weights are compared against the largest distance any weight moved.
    const [wa, wb, wc, w0] = [a, b, c, { proto: all }].map((r) => weights(r.proto, a.trainable));
    const movedBy = (name: string) =>
      Math.max(...wa.get(name)!.map((v, i) => Math.abs(v - w0.get(name)![i])));
    const moved = Math.max(...a.trainable.map(movedBy));
    assert.ok(movedBy('item_emb.weight') > lr, `${loss}: trained`);
    for (const name of a.trainable) {
      for (const [other, label] of [
        [wb, 'full'],
        [wc, 'twin'],
      ] as const) {
        const diff = Math.max(...wa.get(name)!.map((v, i) => Math.abs(v - other.get(name)![i])));
        assert.ok(diff <= 0.05 * moved, `${loss}: ${name} vs ${label}: ${diff} of ${moved}`);
      }
    }
  }
});

test('the rewrite keeps every trainable initializer under its name; weights go back into the original', async () => {
  const all = allSasrec();
  const adapter = adapterOf(all);
  const trainable = defaultTrainable(all, adapter.output);
  const chosen = await lastPositionForward(all, adapter, trainable, { perPosition: false });
  assert.equal(chosen.layout.mode, 'rewritten');
  assert.deepEqual(missingInitializers(all, chosen.proto, trainable), []);
  // A renamed or copied weight is caught.
  const withInitializers = (initializer: onnx.ITensorProto[]) =>
    onnx.ModelProto.create({
      ...chosen.proto,
      graph: onnx.GraphProto.create({
        ...graphOf(chosen.proto),
        initializer: initializer as onnx.TensorProto[],
      }),
    });
  const renamed = withInitializers(
    graphOf(chosen.proto).initializer.map((t) =>
      t.name === trainable[0] ? onnx.TensorProto.create({ ...t, name: `${t.name}_copy` }) : t,
    ),
  );
  assert.deepEqual(missingInitializers(all, renamed, trainable), [trainable[0]]);
  const copied = cloneModel(chosen.proto);
  assert.deepEqual(missingInitializers(all, copied, trainable).sort(), [...trainable].sort());

  const result = await train({
    model: all,
    adapter,
    examples: examples(20, SASREC.numItems, SASREC.maxLen, 4),
    batchSize: 8,
    maxSteps: 2,
  });
  assert.equal(result.layout.mode, 'rewritten');
  // The original graph, [B, T, N] output included, with new weight values only.
  const structure = (proto: onnx.ModelProto) => {
    const copy = onnx.ModelProto.decode(encodeModel(proto));
    for (const t of copy.graph!.initializer!) t.rawData = new Uint8Array(0);
    return Buffer.from(encodeModel(copy));
  };
  assert.ok(structure(result.proto).equals(structure(all)));
  assert.notDeepEqual(
    tensorFloat32(graphOf(result.proto).initializer.find((t) => t.name === trainable[0])!),
    tensorFloat32(graphOf(all).initializer.find((t) => t.name === trainable[0])!),
  );
});

test('right padding with a length input: each row’s last position is fed and the gradients match', async () => {
  const model = rightPaddedModel({ items: 20, dim: 6, seqLen: 7, seed: 3, mixing: 'matmul' });
  const adapter = adapterOf(model);
  assert.equal(adapter.padding, 'right');
  assert.equal(adapter.lengthInput, 'item_seq_len');
  const batch = examples(10, 20, 7, 6);
  for (const { loss, options } of LOSSES.slice(0, 2)) {
    const common = { model, adapter, examples: batch, batchSize: 12, loss, ...options };
    const rewritten = await prepareTraining(common);
    const full = await prepareTraining({ ...common, lastPosition: false });
    assert.equal(rewritten.layout.mode, 'rewritten', rewritten.layout.note ?? '');
    assert.equal(rewritten.layout.lastPositionInput, LAST_POSITION_INPUT);
    // The gather sits after the position-mixing MatMul, on a value the embeddings reach.
    assert.ok(rewritten.training.proto.graph!.node!.some((n) => n.opType === 'GatherND'));
    const a = await lossAndGradients(rewritten, batch);
    const b = await lossAndGradients(full, batch);
    const fed = Array.from(a.feeds[LAST_POSITION_INPUT].data as BigInt64Array, Number);
    const want = batch.map((x) => Math.min(x.history.length, 7) - 1);
    assert.deepEqual(fed.slice(0, batch.length), want);
    assertSameStep(a, b, `right-padded ${loss}`);
  }
});

test('falls back to the full graph, with the reason, when the rewrite differs or the loss reads every position', async () => {
  // Dropout in training mode: the rewrite cannot reproduce the scores.
  const random = randomScoresModel({ items: 20, seqLen: 6 });
  const adapter = adapterOf(random);
  const batch = examples(16, 20, 6, 9);
  const common = { model: random, adapter, examples: batch, batchSize: 8, maxSteps: 2 };
  const fallback = await train(common);
  assert.equal(fallback.layout.mode, 'all-positions');
  assert.equal(fallback.layout.outputRank, 3);
  assert.match(fallback.layout.note ?? '', /differs from the original/);
  const off = await train({ ...common, lastPosition: false });
  assert.deepEqual(
    fallback.curve.map((c) => c.loss),
    off.curve.map((c) => c.loss),
  );

  // Per-position cross-entropy keeps the full graph and its [B, T, N] scores.
  const all = allSasrec();
  const perPosition = examples(8, SASREC.numItems, SASREC.maxLen, 2).map((x) => ({
    history: x.history,
    targets: x.history.map((_, i) => 1 + ((x.history[i] + 1) % SASREC.numItems)),
  }));
  const p = await prepareTraining({
    model: all,
    adapter: adapterOf(all),
    examples: perPosition,
    batchSize: 8,
  });
  assert.equal(p.layout.mode, 'all-positions');
  assert.equal(p.layout.note, 'the loss reads every position');
  assert.deepEqual(p.feeds(perPosition)[LOSS_INPUTS.targets].dims, [8, SASREC.maxLen]);
});

test('the forward-only loss runs on the rewrite too, with the full graph’s and the twin’s value', async () => {
  const all = allSasrec();
  const last = lastSasrec();
  const adapter = adapterOf(all);
  const batch = examples(40, SASREC.numItems, SASREC.maxLen, 12);
  for (const { loss, options } of LOSSES) {
    const common = { examples: batch, batchSize: 16, loss, ...options };
    const a = await evaluateLoss({ ...common, model: all, adapter });
    const b = await evaluateLoss({ ...common, model: all, adapter, lastPosition: false });
    const c = await evaluateLoss({ ...common, model: last, adapter: adapterOf(last) });
    assertClose([a], [b], 1e-5, `${loss}: vs full`);
    assertClose([a], [c], 1e-5, `${loss}: vs twin`);
  }
});
