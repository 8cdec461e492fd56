/** Loss heads, AdamW and the trainer (src/core/train/{losses,optimizer,trainer}.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { CancelledError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { encodeModel, onnx } from '../../../../src/core/onnx/model';
import { loadOrt } from '../../../../src/core/onnx/ort';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { buildTrainingGraph } from '../../../../src/core/train/autodiff';
import { appendLoss, LOSS_INPUTS, type LossSpec } from '../../../../src/core/train/losses';
import { AdamW } from '../../../../src/core/train/optimizer';
import { probeShapes } from '../../../../src/core/train/shapes';
import type { TrainExample } from '../../../../src/core/train/examples';
import { train } from '../../../../src/core/train/trainer';
import { evaluateLoss } from '../../../../src/core/train/trainingSession';
import { defaultTrainable } from '../../../../src/core/train/weights';
import { mulberry32 } from '../../../support/helpers';
import { floatTensor, tinyModel } from '../../../support/tinyModel';

// ---------------------------------------------------------------- loss heads

/** A model whose "scores" are the trainable initializer z (through an Identity). */
function scoresModel(dims: number[], z: Float32Array): onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'scores',
      node: [{ opType: 'Identity', input: ['z'], output: ['scores'], name: 'id' }],
      initializer: [floatTensor('z', dims, z)],
      input: [],
      output: [onnx.ValueInfoProto.create({ name: 'scores' })],
    },
  });
}

type Feeds = Record<string, { data: number[]; dims: number[]; type: 'int64' | 'float32' }>;

async function ortFeeds(feeds: Feeds): Promise<Record<string, OrtTensor>> {
  const { Tensor } = await loadOrt();
  const out: Record<string, OrtTensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    out[name] =
      f.type === 'int64'
        ? new Tensor('int64', BigInt64Array.from(f.data.map(BigInt)), f.dims)
        : new Tensor('float32', Float32Array.from(f.data), f.dims);
  }
  return out;
}

/**
 * The loss value and dLoss/dz from onnxruntime (forward + the autodiff training graph). A head
 * with a closed-form score gradient (cross-entropy) is run both ways: the closed form must equal
 * the node-by-node walk, and is the one returned.
 */
async function lossAndGrad(
  spec: LossSpec,
  z: Float32Array,
  feeds: Feeds,
): Promise<{ loss: number; grad: Float32Array }> {
  const { InferenceSession, Tensor } = await loadOrt();
  const head = appendLoss(scoresModel(spec.dims, z), spec);
  const f = await ortFeeds(feeds);
  const shapes = await probeShapes(head.proto, f);
  const run = async (closedForm: boolean) => {
    const seed = closedForm ? head.scoreGradient : undefined;
    const training = buildTrainingGraph(head.proto, head.loss, ['z'], shapes, seed);
    const session = await InferenceSession.create(encodeModel(training.proto));
    try {
      const result = await session.run({ ...f, z: new Tensor('float32', z, spec.dims) });
      return {
        loss: (result[training.loss].data as Float32Array)[0],
        grad: result[training.gradients.get('z')!].data as Float32Array,
      };
    } finally {
      await session.release();
    }
  };
  const walked = await run(false);
  if (!head.scoreGradient) return walked;
  assert.equal(spec.kind, 'cross-entropy');
  const closed = await run(true);
  assert.equal(closed.loss, walked.loss);
  assertClose(closed.grad, walked.grad, 1e-6, 'closed-form vs node-by-node gradient');
  return closed;
}

function logSoftmax(row: ArrayLike<number>, exclude: number[] = [], tau = 1): number[] {
  const z = Array.from(row, (v, j) => (v + (exclude.includes(j) ? -1e9 : 0)) / tau);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

/** Central differences of a JS reference loss (float64). */
function numericGrad(f: (z: Float64Array) => number, z: Float32Array): Float64Array {
  const g = new Float64Array(z.length);
  const x = Float64Array.from(z);
  const eps = 1e-4;
  for (let i = 0; i < z.length; i++) {
    const keep = x[i];
    x[i] = keep + eps;
    const plus = f(x);
    x[i] = keep - eps;
    const minus = f(x);
    x[i] = keep;
    g[i] = (plus - minus) / (2 * eps);
  }
  return g;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(
      err <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function randomArray(n: number, seed: number, scale = 2): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rand() - 0.5) * scale);
}

test('cross-entropy on [B, W] scores: value and gradient match a hand computation', async () => {
  const B = 3;
  const W = 5;
  const z = randomArray(B * W, 1);
  const targets = [2, 4, 1];
  const weights = [1, 0.5, 0];
  const exclude = [0];
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    for (let b = 0; b < B; b++) {
      const lsm = logSoftmax(Array.from(x).slice(b * W, (b + 1) * W), exclude);
      num += weights[b] * -lsm[targets[b]];
    }
    return num / weights.reduce((a, c) => a + c, 0);
  };
  const { loss, grad } = await lossAndGrad(
    { kind: 'cross-entropy', logits: 'scores', dims: [B, W], exclude },
    z,
    {
      [LOSS_INPUTS.targets]: { data: targets, dims: [B], type: 'int64' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
    },
  );
  assertClose([loss], [reference(z)], 1e-5, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
  // The excluded pad column and the weight-0 row get no gradient.
  for (let b = 0; b < B; b++) assert.equal(grad[b * W], 0);
  for (let j = 0; j < W; j++) assert.equal(grad[2 * W + j], 0);
});

test('cross-entropy on [B, T, W] scores: per-position targets and selected positions', async () => {
  const [B, T, W] = [2, 3, 4];
  const z = randomArray(B * T * W, 2);
  const row = (x: ArrayLike<number>, b: number, t: number) =>
    Array.from(x).slice((b * T + t) * W, (b * T + t + 1) * W);
  // Per position: targets and weights [B, T].
  const targets = [1, 2, 3, 0, 3, 1];
  const weights = [1, 0, 2, 0.5, 1, 0];
  const perPosition = (x: ArrayLike<number>): number => {
    let num = 0;
    let den = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const w = weights[b * T + t];
        num += w * -logSoftmax(row(x, b, t))[targets[b * T + t]];
        den += w;
      }
    return num / den;
  };
  const a = await lossAndGrad({ kind: 'cross-entropy', logits: 'scores', dims: [B, T, W] }, z, {
    [LOSS_INPUTS.targets]: { data: targets, dims: [B, T], type: 'int64' },
    [LOSS_INPUTS.weights]: { data: weights, dims: [B, T], type: 'float32' },
  });
  assertClose([a.loss], [perPosition(z)], 1e-5, 'per-position loss');
  assertClose(a.grad, numericGrad(perPosition, z), 1e-3, 'per-position grad');

  // Selected: one position per row from a one-hot [B, T, 1], targets and weights [B].
  const positions = [2, 0];
  const sel = [3, 1];
  const w = [1, 3];
  const selected = (x: ArrayLike<number>): number =>
    (w[0] * -logSoftmax(row(x, 0, positions[0]), [0])[sel[0]] +
      w[1] * -logSoftmax(row(x, 1, positions[1]), [0])[sel[1]]) /
    (w[0] + w[1]);
  const onehot = new Array<number>(B * T).fill(0);
  positions.forEach((p, b) => (onehot[b * T + p] = 1));
  const s = await lossAndGrad(
    { kind: 'cross-entropy', logits: 'scores', dims: [B, T, W], positions: 'select', exclude: [0] },
    z,
    {
      [LOSS_INPUTS.positions]: { data: onehot, dims: [B, T, 1], type: 'float32' },
      [LOSS_INPUTS.targets]: { data: sel, dims: [B], type: 'int64' },
      [LOSS_INPUTS.weights]: { data: w, dims: [B], type: 'float32' },
    },
  );
  assertClose([s.loss], [selected(z)], 1e-5, 'selected loss');
  assertClose(s.grad, numericGrad(selected, z), 1e-3, 'selected grad');
});

test('cross-entropy with two target draws per position: the same terms as two rows', async () => {
  const [B, T, W, D] = [2, 3, 4, 2];
  const z = randomArray(B * T * W, 5);
  const row = (x: ArrayLike<number>, b: number, t: number) =>
    Array.from(x).slice((b * T + t) * W, (b * T + t + 1) * W);
  // [B, T, D]: draw d of position (b, t) at (b·T + t)·D + d; column 0 is excluded (pad).
  const targets = [1, 1, 2, 3, 3, 1, 2, 2, 1, 3, 2, 1];
  const weights = [1, 1, 0, 0, 1, 1, 1, 1, 2, 2, 0, 0];
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    let den = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) {
          const i = (b * T + t) * D + d;
          num += weights[i] * -logSoftmax(row(x, b, t), [0])[targets[i]];
          den += weights[i];
        }
    return num / den;
  };
  const { loss, grad } = await lossAndGrad(
    { kind: 'cross-entropy', logits: 'scores', dims: [B, T, W], exclude: [0], draws: D },
    z,
    {
      [LOSS_INPUTS.targets]: { data: targets, dims: [B, T, D], type: 'int64' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B, T, D], type: 'float32' },
    },
  );
  assertClose([loss], [reference(z)], 1e-5, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
});

test('KL(teacher ‖ student) with temperature: value and gradient', async () => {
  const [B, W] = [2, 6];
  const tau = 2;
  const z = randomArray(B * W, 3, 4);
  const teacher = Array.from(randomArray(B * W, 4, 4));
  const weights = [1, 2];
  const exclude = [0, 5];
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    for (let b = 0; b < B; b++) {
      const ls = logSoftmax(Array.from(x).slice(b * W, (b + 1) * W), exclude, tau);
      const lt = logSoftmax(teacher.slice(b * W, (b + 1) * W), exclude, tau);
      let kl = 0;
      for (let j = 0; j < W; j++) if (!exclude.includes(j)) kl += Math.exp(lt[j]) * (lt[j] - ls[j]);
      num += weights[b] * kl;
    }
    return (tau * tau * num) / (weights[0] + weights[1]);
  };
  const { loss, grad } = await lossAndGrad(
    { kind: 'kl', logits: 'scores', dims: [B, W], temperature: tau, exclude },
    z,
    {
      [LOSS_INPUTS.teacher]: { data: teacher, dims: [B, W], type: 'float32' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
    },
  );
  assertClose([loss], [reference(z)], 1e-4, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
  // The student equal to the teacher has zero loss.
  const same = await lossAndGrad(
    { kind: 'kl', logits: 'scores', dims: [B, W], temperature: tau, exclude },
    Float32Array.from(teacher),
    {
      [LOSS_INPUTS.teacher]: { data: teacher, dims: [B, W], type: 'float32' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
    },
  );
  assert.ok(Math.abs(same.loss) < 1e-6, `KL(p ‖ p) = ${same.loss}`);
});

test("KL with a focus term: the same KL renormalised over each row's focus columns, weighted", async () => {
  const [B, W] = [2, 7];
  const tau = 1.5;
  const focusWeight = 3;
  const z = randomArray(B * W, 13, 4);
  const teacher = Array.from(randomArray(B * W, 14, 4));
  const weights = [1, 3];
  const exclude = [0];
  const focus = [
    [2, 3, 5],
    [1, 4, 5, 6],
  ];
  const mask = focus.flatMap((f) =>
    Array.from({ length: W }, (_, j) => (f.includes(j) ? 0 : -1e9)),
  );
  const kl = (x: number[], t: number[], out: number[]): number => {
    const ls = logSoftmax(x, out, tau);
    const lt = logSoftmax(t, out, tau);
    let sum = 0;
    for (let j = 0; j < W; j++) if (!out.includes(j)) sum += Math.exp(lt[j]) * (lt[j] - ls[j]);
    return sum;
  };
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    for (let b = 0; b < B; b++) {
      const xs = Array.from(x).slice(b * W, (b + 1) * W);
      const ts = teacher.slice(b * W, (b + 1) * W);
      const outside = [...Array(W).keys()].filter((j) => !focus[b].includes(j));
      num += weights[b] * (kl(xs, ts, exclude) + focusWeight * kl(xs, ts, outside));
    }
    return (tau * tau * num) / (weights[0] + weights[1]);
  };
  const { loss, grad } = await lossAndGrad(
    { kind: 'kl', logits: 'scores', dims: [B, W], temperature: tau, exclude, focus: focusWeight },
    z,
    {
      [LOSS_INPUTS.teacher]: { data: teacher, dims: [B, W], type: 'float32' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
      [LOSS_INPUTS.focus]: { data: mask, dims: [B, W], type: 'float32' },
    },
  );
  assertClose([loss], [reference(z)], 1e-4, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
});

test('KL with a boundary hinge: the head item must outscore every later focus item', async () => {
  const [B, W] = [2, 6];
  const weight = 0.5;
  const z = randomArray(B * W, 21, 4);
  const teacher = Array.from(randomArray(B * W, 22, 4));
  const weights = [2, 1];
  const head = [3, 0];
  const below = [
    [1, 4, 5],
    [2, 3, 1],
  ];
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    for (let b = 0; b < B; b++) {
      const ls = logSoftmax(Array.from(x).slice(b * W, (b + 1) * W));
      const lt = logSoftmax(teacher.slice(b * W, (b + 1) * W));
      let row = 0;
      for (let j = 0; j < W; j++) row += Math.exp(lt[j]) * (lt[j] - ls[j]);
      for (const j of below[b]) row += weight * Math.max(0, x[b * W + j] - x[b * W + head[b]]);
      num += weights[b] * row;
    }
    return num / (weights[0] + weights[1]);
  };
  const { loss, grad } = await lossAndGrad(
    {
      kind: 'kl',
      logits: 'scores',
      dims: [B, W],
      boundary: { head: 1, below: 3, weight },
    },
    z,
    {
      [LOSS_INPUTS.teacher]: { data: teacher, dims: [B, W], type: 'float32' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
      [LOSS_INPUTS.boundaryHead]: { data: head, dims: [B, 1], type: 'int64' },
      [LOSS_INPUTS.boundaryBelow]: { data: below.flat(), dims: [B, 3], type: 'int64' },
    },
  );
  assertClose([loss], [reference(z)], 1e-4, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
});

test('margin ranking on top-k: value and gradient', async () => {
  const [B, W, k] = [2, 7, 3];
  const margin = 0.5;
  const z = randomArray(B * W, 5, 1.5);
  const pos = [1, 2, 3, 6, 5, 4];
  const neg = [4, 5, 6, 1, 2, 3];
  const weights = [1, 1];
  const reference = (x: ArrayLike<number>): number => {
    let num = 0;
    for (let b = 0; b < B; b++) {
      let h = 0;
      for (let i = 0; i < k; i++)
        h += Math.max(0, margin - (x[b * W + pos[b * k + i]] - x[b * W + neg[b * k + i]]));
      num += (weights[b] * h) / k;
    }
    return num / (weights[0] + weights[1]);
  };
  const { loss, grad } = await lossAndGrad(
    { kind: 'margin', logits: 'scores', dims: [B, W], k, margin },
    z,
    {
      [LOSS_INPUTS.positives]: { data: pos, dims: [B, k], type: 'int64' },
      [LOSS_INPUTS.negatives]: { data: neg, dims: [B, k], type: 'int64' },
      [LOSS_INPUTS.weights]: { data: weights, dims: [B], type: 'float32' },
    },
  );
  assertClose([loss], [reference(z)], 1e-5, 'loss');
  assertClose(grad, numericGrad(reference, z), 1e-3, 'grad');
});

// ---------------------------------------------------------------- AdamW

test('AdamW: two steps match a hand computation (decay, bias correction, clipping)', () => {
  const lr = 0.1;
  const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.1];
  const p = Float32Array.from([1, -2]);
  const opt = new AdamW(new Map([['w', p]]), {
    lr,
    beta1: b1,
    beta2: b2,
    eps,
    weightDecay: wd,
    clip: 5,
  });
  // Step 1: g = [3, 4] has norm 5, not above the clip of 5, so it is not scaled.
  const s1 = opt.step(new Map([['w', [3, 4]]]));
  assert.equal(s1.gradNorm, 5);
  assert.equal(s1.scale, 1);
  // By hand: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², step = lr·g/(|g| + eps) ≈ lr·sign(g).
  const hand1 = [1, -2].map((x, i) => {
    const g = [3, 4][i];
    return x * (1 - lr * wd) - lr * (g / (Math.abs(g) + eps));
  });
  assertClose(p, hand1, 1e-6, 'step 1');
  // Step 2: g = [30, 0] has norm 30 > 5 → clipped to [5, 0]·(30/(30+1e-6)).
  const s2 = opt.step(new Map([['w', [30, 0]]]));
  assert.equal(s2.gradNorm, 30);
  const c = 5 / (30 + 1e-6);
  const g2 = [30 * c, 0];
  const hand2 = hand1.map((x, i) => {
    const g1 = [3, 4][i];
    const m = b1 * (1 - b1) * g1 + (1 - b1) * g2[i];
    const v = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2[i] * g2[i];
    const mHat = m / (1 - b1 ** 2);
    const vHat = v / (1 - b2 ** 2);
    return x * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
  });
  assertClose(p, hand2, 1e-6, 'step 2');
});

test('AdamW converges on a quadratic; weight decay only where asked', () => {
  // f(x) = Σ a_i (x_i − c_i)², minimum at c (no decay on x).
  const a = [1, 10, 0.1, 3];
  const cs = [2, -1, 0.5, 0];
  const x = new Float32Array(4);
  const y = Float32Array.from([5, 5]);
  const opt = new AdamW(
    new Map([
      ['x', x],
      ['y', y],
    ]),
    { lr: 0.05, weightDecay: 0.5, clip: 0, decay: (n) => n === 'y' },
  );
  for (let i = 0; i < 3000; i++) {
    const g = a.map((ai, j) => 2 * ai * (x[j] - cs[j]));
    opt.step(new Map([['x', g]]));
  }
  assertClose(x, cs, 1e-2, 'minimum');
  // y has no gradient, so only decay acts: 5·(1 − 0.05·0.5)^3000 ≈ 0.
  assert.ok(Math.abs(y[0]) < 1e-6, `decayed y = ${y[0]}`);
});

// ---------------------------------------------------------------- trainer

/** Sequences over items 1..N where the next item is a fixed function of the last one. */
function patternExamples(n: number, items: number, seed: number): TrainExample[] {
  const rand = mulberry32(seed);
  const next = (i: number) => (i % items) + 1;
  return Array.from({ length: n }, () => {
    const len = 2 + Math.floor(rand() * 6);
    const history: number[] = [1 + Math.floor(rand() * items)];
    while (history.length < len) history.push(next(history[history.length - 1]));
    return { history, target: next(history[history.length - 1]) };
  });
}

function adapterFor(proto: onnx.ModelProto) {
  return detectAdapter({ proto, file: 'tiny.onnx', fileBytes: 0, externalFiles: [] });
}

/** The encoded model with every initializer's data emptied: what must not change. */
function withoutInitializerData(proto: onnx.ModelProto): Uint8Array {
  const copy = onnx.ModelProto.decode(encodeModel(proto));
  for (const t of copy.graph!.initializer!) {
    t.rawData = new Uint8Array(0);
    t.floatData = [];
  }
  return encodeModel(copy);
}

test('trainer lowers the loss of a tiny model and writes only initializer data back', async () => {
  const items = 12;
  const model = tinyModel({ items, dim: 8, seqLen: 6 });
  const original = encodeModel(model);
  const adapter = adapterFor(model);
  const examples = patternExamples(200, items, 7);
  const before = await evaluateLoss({ model, adapter, examples, batchSize: 32 });
  const progress: number[] = [];
  const result = await train({
    model,
    adapter,
    examples,
    batchSize: 32,
    epochs: 15,
    lr: 0.05,
    seed: 3,
    onProgress: (p) => progress.push(p.step),
  });
  const after = await evaluateLoss({ model: result.proto, adapter, examples, batchSize: 32 });
  assert.ok(after < before * 0.6, `loss ${before} → ${after}`);
  assert.equal(result.steps, 15 * Math.ceil(200 / 32));
  assert.deepEqual(
    progress,
    [...Array(result.steps).keys()].map((i) => i + 1),
  );
  assert.deepEqual(result.trainable.sort(), ['item_emb', 'proj']);
  // The input model is untouched, and the output differs only in initializer data.
  assert.deepEqual(encodeModel(model), original);
  assert.deepEqual(withoutInitializerData(result.proto), withoutInitializerData(model));
  assert.notDeepEqual(encodeModel(result.proto), original);
  // The written model still scores.
  const session = await ScoringSession.open(encodeModel(result.proto), adapter);
  try {
    const top = await session.topK([[3, 4, 5]], 1);
    assert.equal(top[0][0], 6);
  } finally {
    await session.release();
  }
});

test('trainer is reproducible for a seed, and the epoch curve is recorded', async () => {
  const model = tinyModel({ items: 10, dim: 4, seqLen: 5 });
  const adapter = adapterFor(model);
  const examples = patternExamples(50, 10, 9);
  const run = () => train({ model, adapter, examples, batchSize: 16, epochs: 2, seed: 5 });
  const [a, b] = [await run(), await run()];
  assert.deepEqual(
    a.curve.map((c) => c.loss),
    b.curve.map((c) => c.loss),
  );
  assert.deepEqual(encodeModel(a.proto), encodeModel(b.proto));
  assert.equal(a.epochs.length, 2);
  assert.equal(a.curve.length, 2 * 4);
});

test('trainer on [B, T, W] scores: selected last positions and per-position targets', async () => {
  const items = 10;
  const model = tinyModel({ items, dim: 8, seqLen: 6, allPositions: true });
  const adapter = adapterFor(model);
  assert.equal(adapter.outputRank, 3);
  const examples = patternExamples(120, items, 11);
  const before = await evaluateLoss({ model, adapter, examples, batchSize: 32 });
  const last = await train({ model, adapter, examples, batchSize: 32, epochs: 10, lr: 0.05 });
  const after = await evaluateLoss({ model: last.proto, adapter, examples, batchSize: 32 });
  assert.ok(after < before * 0.6, `last position: ${before} → ${after}`);

  const perPosition = examples.map((x) => ({
    history: x.history,
    targets: [...x.history.slice(1), x.target!],
  }));
  const p0 = await evaluateLoss({ model, adapter, examples: perPosition, batchSize: 32 });
  const trained = await train({
    model,
    adapter,
    examples: perPosition,
    batchSize: 32,
    epochs: 10,
    lr: 0.05,
  });
  const p1 = await evaluateLoss({
    model: trained.proto,
    adapter,
    examples: perPosition,
    batchSize: 32,
  });
  assert.ok(p1 < p0 * 0.6, `per position: ${p0} → ${p1}`);
});

test('trainer: target draws in one row train exactly as one row per draw in the same batch', async () => {
  const items = 10;
  const model = tinyModel({ items, dim: 8, seqLen: 6, allPositions: true, seed: 4 });
  const adapter = adapterFor(model);
  const rand = mulberry32(21);
  const draw = (n: number) => Array.from({ length: n }, () => 1 + Math.floor(rand() * items));
  const merged = patternExamples(8, items, 13).map((x) => ({
    history: x.history,
    targetDraws: [draw(x.history.length), draw(x.history.length)],
  }));
  const separate = merged.flatMap((x) =>
    x.targetDraws.map((targets) => ({ history: x.history, targets })),
  );
  // One step over the whole set (order within a batch does not matter): the same loss terms.
  const common = { model, adapter, epochs: 1, lr: 0.05, maxSteps: 1 };
  const a = await train({ ...common, examples: merged, batchSize: merged.length });
  const b = await train({ ...common, examples: separate, batchSize: separate.length });
  assert.ok(
    Math.abs(a.curve[0].loss - b.curve[0].loss) < 1e-5,
    `${a.curve[0].loss} vs ${b.curve[0].loss}`,
  );
  const weights = (proto: onnx.ModelProto) =>
    new Map((proto.graph?.initializer ?? []).map((t) => [t.name ?? '', tensorFloat32(t)]));
  const [wa, wb] = [weights(a.proto), weights(b.proto)];
  for (const name of a.trainable) assertClose(wa.get(name)!, wb.get(name)!, 1e-5, name);
});

test('trainer with the KL and margin losses lowers them', async () => {
  const items = 10;
  const model = tinyModel({ items, dim: 8, seqLen: 5, seed: 2 });
  const teacherModel = tinyModel({ items, dim: 8, seqLen: 5, seed: 9 });
  const adapter = adapterFor(model);
  const histories = patternExamples(64, items, 4).map((x) => x.history);
  const teacher = await ScoringSession.open(encodeModel(teacherModel), adapter);
  const rows: Float32Array[] = [];
  const tops: Int32Array[] = [];
  try {
    await teacher.forEachScores(histories, (i, s) => (rows[i] = s.slice()));
    tops.push(...(await teacher.topK(histories, 6)));
  } finally {
    await teacher.release();
  }
  const kl = histories.map((history, i) => ({ history, teacher: rows[i] }));
  const k0 = await evaluateLoss({ model, adapter, examples: kl, loss: 'kl', temperature: 2 });
  const kt = await train({
    model,
    adapter,
    examples: kl,
    loss: 'kl',
    temperature: 2,
    epochs: 20,
    lr: 0.05,
  });
  const k1 = await evaluateLoss({
    model: kt.proto,
    adapter,
    examples: kl,
    loss: 'kl',
    temperature: 2,
  });
  assert.ok(k1 < k0 * 0.5, `KL ${k0} → ${k1}`);

  const margin = histories.map((history, i) => ({
    history,
    positives: Array.from(tops[i].subarray(0, 3)),
    negatives: Array.from(tops[i].subarray(3, 6)),
  }));
  const m0 = await evaluateLoss({ model, adapter, examples: margin, loss: 'margin' });
  const mt = await train({
    model,
    adapter,
    examples: margin,
    loss: 'margin',
    epochs: 20,
    lr: 0.05,
  });
  const m1 = await evaluateLoss({ model: mt.proto, adapter, examples: margin, loss: 'margin' });
  assert.ok(m1 < m0 * 0.5, `margin ${m0} → ${m1}`);
});

test('trainer early stop: patience on a held-out loss, or a predicate', async () => {
  const model = tinyModel({ items: 10, dim: 4, seqLen: 5 });
  const adapter = adapterFor(model);
  const examples = patternExamples(64, 10, 1);
  const byPredicate = await train({
    model,
    adapter,
    examples,
    epochs: 10,
    earlyStop: (s) => s.epoch >= 3,
  });
  assert.equal(byPredicate.epochs.length, 3);
  assert.ok(byPredicate.stoppedEarly);
  // Random held-out targets cannot be learnt; with lr this high the held-out loss soon rises.
  const rand = mulberry32(2);
  const heldOut = examples.map((x) => ({ ...x, target: 1 + Math.floor(rand() * 10) }));
  const byPatience = await train({
    model,
    adapter,
    examples,
    heldOut,
    epochs: 40,
    lr: 0.1,
    earlyStop: { patience: 2 },
  });
  assert.ok(byPatience.stoppedEarly, 'stopped early');
  assert.ok(byPatience.epochs.length < 40);
  assert.ok(byPatience.epochs.every((e) => e.heldOutLoss !== null));
});

test('trainer cancels between steps with CancelledError', async () => {
  const model = tinyModel({ items: 10, dim: 4, seqLen: 5 });
  const adapter = adapterFor(model);
  const controller = new AbortController();
  let steps = 0;
  await assert.rejects(
    train({
      model,
      adapter,
      examples: patternExamples(100, 10, 1),
      batchSize: 10,
      epochs: 5,
      signal: controller.signal,
      onProgress: () => {
        if (++steps === 3) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.equal(steps, 3);
});

test('default trainable weights skip constants off the score path', () => {
  const model = tinyModel({ items: 6, dim: 4 });
  model.graph!.initializer!.push(floatTensor('unused', [3], Float32Array.from([1, 2, 3])));
  assert.deepEqual(defaultTrainable(model, 'scores').sort(), ['item_emb', 'proj']);
});
