/**
 * Weight-perturbation attacks (DESIGN.md §6): the pure pruning and noise functions exactly on
 * small arrays, then on sasrec_opset17 with MovieLens — light pruning keeps the top-10 lists,
 * heavy pruning does not; the output loads and scores; only initializer data changes; the input
 * is byte-identical afterwards; a cancelled run writes nothing — and the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  noiseAttack,
  noisyWeights,
  prunedCount,
  prunedWeights,
  pruneAttack,
  standardDeviation,
} from '../../../../src/core/attack/perturb';
import { trainedWeights } from '../../../../src/core/train/weights';
import { CancelledError, RecMarkError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { sha256File } from '../../../../src/core/util/files';
import { fixture, runCli, tempDir, withoutInitializerData } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { assertCounted, recordProgress } from '../../../support/progressCounts';

const DATA = movielensInteractionFile();
const MODEL = fixture('sasrec_opset17.onnx');

const f32 = (values: number[]): Float32Array => Float32Array.from(values);
const zeros = (w: Float32Array): number => w.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);
const mean = (w: ArrayLike<number>): number => Array.from(w).reduce((s, x) => s + x, 0) / w.length;

function isUsageError(pattern: RegExp) {
  return (err: unknown): boolean =>
    err instanceof RecMarkError && err.code === 'usage' && pattern.test(err.message);
}

describe('prunedWeights (pure)', () => {
  test('zeroes exactly round(fraction·n) smallest-|w| entries, the rest unchanged', () => {
    const w = f32([0.5, -0.1, 0.3, -0.7, 0.05, 0.2, -0.4, 0.6, 0, 0.9]);
    const copy = w.slice();
    const p = prunedWeights(new Map([['w', w]]), 0.3).get('w')!;
    // The three smallest magnitudes are 0 (index 8), 0.05 (4) and 0.1 (1).
    assert.deepEqual(p, f32([0.5, 0, 0.3, -0.7, 0, 0.2, -0.4, 0.6, 0, 0.9]));
    assert.deepEqual(w, copy, 'the input was modified');
    assert.notEqual(p, w);
    const half = prunedWeights(new Map([['w', w]]), 0.5).get('w')!;
    assert.deepEqual(half, f32([0.5, 0, 0, -0.7, 0, 0, -0.4, 0.6, 0, 0.9]));
    assert.deepEqual(prunedWeights(new Map([['w', w]]), 0).get('w'), w);
  });

  test('ties at the threshold go in index order, so the count is exact', () => {
    const p = prunedWeights(new Map([['w', f32([1, -1, 1, 2, -1])]]), 0.4).get('w')!;
    assert.deepEqual(p, f32([0, 0, 1, 2, -1]));
    const same = prunedWeights(new Map([['w', new Float32Array(8).fill(3)]]), 0.5).get('w')!;
    assert.deepEqual(same, f32([0, 0, 0, 0, 3, 3, 3, 3]));
  });

  test('prunes per tensor: a tensor on a small scale keeps its share', () => {
    const small = Float32Array.from({ length: 100 }, (_, i) => (i + 1) * 1e-3);
    const large = Float32Array.from({ length: 100 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1));
    const p = prunedWeights(
      new Map([
        ['small', small],
        ['large', large],
      ]),
      0.25,
    );
    assert.equal(zeros(p.get('small')!), 25);
    assert.equal(zeros(p.get('large')!), 25);
    // The survivors are the 75 largest in magnitude of each.
    assert.deepEqual(p.get('small')!.subarray(25), small.subarray(25));
    assert.ok(
      p
        .get('large')!
        .subarray(0, 25)
        .every((x) => x === 0),
    );
    assert.equal(prunedCount(10, 0.25), 3);
    assert.equal(prunedCount(568, 0.8), 454);
  });

  test('rejects fractions outside [0, 1) naming the flag', () => {
    const params = new Map([['w', f32([1, 2])]]);
    for (const bad of [1, -0.1, Number.NaN, Infinity])
      assert.throws(() => prunedWeights(params, bad), isUsageError(/--fraction.*\[0, 1\)/));
  });

  test('checks for cancellation between tensors', () => {
    const params = new Map([
      ['a', f32([1, 2])],
      ['b', f32([3, 4])],
      ['c', f32([5, 6])],
    ]);
    const controller = new AbortController();
    const seen: string[] = [];
    assert.throws(
      () =>
        prunedWeights(params, 0.5, {
          signal: controller.signal,
          onTensor: (_done, _total, name) => {
            seen.push(name);
            controller.abort();
          },
        }),
      CancelledError,
    );
    assert.deepEqual(seen, ['a']);
  });
});

describe('noisyWeights (pure)', () => {
  const n = 100_000;
  // Mean 0, population standard deviation exactly 2.
  const w = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 2 : -2));

  test('adds N(0, (scale·std)²) per entry: mean, std and the 1σ share within tolerance', () => {
    const noisy = noisyWeights(new Map([['w', w]]), 0.5, 7).get('w')!;
    const noise = noisy.map((x, i) => x - w[i]);
    // Noise std 1: the sample mean has sd 1/√n ≈ 0.003, the sample std sd ≈ 0.0022.
    assert.ok(Math.abs(mean(noise)) < 0.015, `mean ${mean(noise)}`);
    assert.ok(Math.abs(standardDeviation(noise) - 1) < 0.015, `std ${standardDeviation(noise)}`);
    // P(|Z| < 1) = 0.6827; sd of the share ≈ 0.0015.
    const within = noise.reduce((c, x) => c + (Math.abs(x) < 1 ? 1 : 0), 0) / n;
    assert.ok(Math.abs(within - 0.6827) < 0.008, `share within 1σ ${within}`);
    assert.equal(standardDeviation(w), 2);
  });

  test('the same seed gives the same weights, another seed different ones; input untouched', () => {
    const copy = w.slice();
    const a = noisyWeights(new Map([['w', w]]), 0.1, 3).get('w')!;
    const b = noisyWeights(new Map([['w', w]]), 0.1, 3).get('w')!;
    const c = noisyWeights(new Map([['w', w]]), 0.1, 4).get('w')!;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.deepEqual(w, copy);
  });

  test('std is per tensor; a constant tensor and scale 0 leave weights unchanged', () => {
    const big = w.map((x) => x * 100);
    const flat = new Float32Array(50).fill(0.7);
    const out = noisyWeights(
      new Map([
        ['w', w],
        ['big', big],
        ['flat', flat],
      ]),
      0.2,
      11,
    );
    const sdW = standardDeviation(out.get('w')!.map((x, i) => x - w[i]));
    const sdBig = standardDeviation(out.get('big')!.map((x, i) => x - big[i]));
    assert.ok(Math.abs(sdW / 0.4 - 1) < 0.02, `noise sd on w ${sdW}, want 0.4`);
    assert.ok(Math.abs(sdBig / 40 - 1) < 0.02, `noise sd on big ${sdBig}, want 40`);
    assert.deepEqual(out.get('flat'), flat);
    assert.deepEqual(noisyWeights(new Map([['w', w]]), 0, 1).get('w'), w);
  });

  test('rejects a negative or non-finite scale and a bad seed naming the flag', () => {
    const params = new Map([['w', f32([1, 2])]]);
    for (const bad of [-0.1, Number.NaN, Infinity])
      assert.throws(() => noisyWeights(params, bad, 1), isUsageError(/--scale.*≥ 0/));
    for (const bad of [-1, 1.5, 2 ** 32])
      assert.throws(() => noisyWeights(params, 0.1, bad), isUsageError(/--seed/));
  });
});

describe('attacks on sasrec_opset17 with MovieLens', () => {
  test('prune 20% keeps the top-10 lists, 80% does not; the output loads and scores; the input is untouched', async () => {
    const before = await sha256File(MODEL);
    const dir = tempDir();
    const light = await pruneAttack({
      model: MODEL,
      out: path.join(dir, 'p20.onnx'),
      fraction: 0.2,
      data: DATA,
    });
    const heavy = await pruneAttack({
      model: MODEL,
      out: path.join(dir, 'p80.onnx'),
      fraction: 0.8,
      data: DATA,
    });
    assert.equal(await sha256File(MODEL), before, 'the input model was modified');

    // Measured: 0.90 at 20%, 0.25 at 80% (610 user histories).
    assert.ok(light.topKOverlap > 0.8, `overlap at 20%: ${light.topKOverlap}`);
    assert.ok(heavy.topKOverlap < 0.4, `overlap at 80%: ${heavy.topKOverlap}`);
    assert.deepEqual(light.probes, { count: 610, source: 'data' });
    assert.deepEqual(
      light.utility.map((u) => u.metric),
      ['Recall@10 (leave-one-out)', 'NDCG@10 (leave-one-out)'],
    );
    const [, ndcgLight] = light.utility;
    const [, ndcgHeavy] = heavy.utility;
    assert.equal(ndcgLight.before, ndcgHeavy.before);
    assert.ok(ndcgHeavy.after < ndcgLight.after, `NDCG ${ndcgLight.after} vs ${ndcgHeavy.after}`);
    assert.ok(ndcgLight.after > 0.9 * ndcgLight.before, `NDCG at 20%: ${ndcgLight.after}`);

    // The weight matrices only: biases and LayerNorm vectors are kept.
    assert.equal(light.tensors, 11);
    assert.equal(light.parameters, 568_832);
    assert.equal(heavy.parameters, light.parameters);
    assert.ok(Math.abs(light.changed / light.parameters - 0.2) < 0.001, `${light.changed}`);
    assert.ok(Math.abs(heavy.changed / heavy.parameters - 0.8) < 0.001, `${heavy.changed}`);

    const original = await readModel(MODEL);
    const pruned = await readModel(light.out);
    assert.deepEqual(
      withoutInitializerData(pruned.proto),
      withoutInitializerData(original.proto),
      'something other than initializer data changed',
    );
    const adapter = detectAdapter(pruned);
    const weights = trainedWeights(pruned.proto, adapter.output, { matricesOnly: true });
    for (const [name, w] of weights)
      assert.ok(zeros(w) >= prunedCount(w.length, 0.2), `${name}: ${zeros(w)} zeros`);
    const session = await ScoringSession.open(light.out, adapter);
    try {
      const lists = await session.topK(
        [
          [1, 2, 3],
          [10, 20, 30, 40],
        ],
        10,
      );
      const items = new Set(adapter.itemIds);
      assert.ok(lists.every((l) => l.length === 10 && [...l].every((id) => items.has(id))));
    } finally {
      await session.release();
    }
  });

  test('noise without data: overlap on 500 probes sampled from the model, no utility rows', async () => {
    const r = await noiseAttack({ model: MODEL, out: path.join(tempDir(), 'n.onnx'), scale: 1 });
    assert.deepEqual(r.probes, { count: 500, source: 'model' });
    assert.deepEqual(r.utility, []);
    // Every tensor, vectors included; measured overlap 0.13 at scale 1.
    assert.equal(r.tensors, 29);
    assert.equal(r.parameters, 570_624);
    assert.ok(r.changed > 0.99 * r.parameters);
    assert.ok(r.topKOverlap < 0.5, `overlap ${r.topKOverlap}`);
    assert.ok(existsSync(r.out));
  });

  test('refuses to write over the input', async () => {
    await assert.rejects(
      pruneAttack({ model: MODEL, out: MODEL, fraction: 0.1 }),
      isUsageError(/overwrite the input/),
    );
  });

  test('the attack counts tensors, and users measured on the original and the copy', async () => {
    const rec = recordProgress();
    const r = await pruneAttack({
      model: MODEL,
      out: path.join(tempDir(), 'pruned.onnx'),
      fraction: 0.1,
      data: DATA,
      utilityUsers: 150,
      progress: rec.progress,
    });
    const tensors = trainedWeights(
      (await readModel(MODEL)).proto,
      detectAdapter(await readModel(MODEL)).output,
      {
        matricesOnly: true,
      },
    ).size;
    assertCounted(
      rec.counts(`Pruning ${tensors} weight tensors`, 'weight tensors'),
      tensors,
      'pruning',
    );
    assert.ok(r.utility.every((u) => u.users?.used === 150));
    for (const step of ['Measuring the original model', 'Measuring the perturbed model']) {
      assertCounted(rec.counts(step, 'users measured'), 150, step);
      assertCounted(rec.counts(`${step} (top-10 overlap)`, 'probes'), 150, `${step}, overlap`);
    }
  });

  test('cancelling at any step writes nothing', async () => {
    const before = await sha256File(MODEL);
    const steps: string[] = [];
    await pruneAttack({
      model: MODEL,
      out: path.join(tempDir(), 'probe.onnx'),
      fraction: 0.5,
      data: DATA,
      progress: ({ message, fraction }) =>
        void steps.push(fraction !== undefined && fraction > 0 && fraction < 1 ? 'mid' : message),
    });
    const unique = [...new Set(steps)];
    assert.ok(
      unique.includes('mid') && unique.includes('Writing the perturbed model'),
      unique.join(' | '),
    );
    for (const step of unique) {
      const dir = tempDir();
      const controller = new AbortController();
      const run = pruneAttack({
        model: MODEL,
        out: path.join(dir, 'out.onnx'),
        fraction: 0.5,
        data: DATA,
        signal: controller.signal,
        progress: ({ message, fraction }) => {
          const at = fraction !== undefined && fraction > 0 && fraction < 1 ? 'mid' : message;
          if (at === step) controller.abort();
        },
      });
      await assert.rejects(run, CancelledError, `cancel at "${step}"`);
      assert.deepEqual(readdirSync(dir), [], `files left after cancelling at "${step}"`);
    }
    assert.equal(await sha256File(MODEL), before);
  });
});

describe('CLI', () => {
  test('attack noise --json prints one object and writes OUT', async () => {
    const out = path.join(tempDir(), 'noisy.onnx');
    const r = await runCli(
      ['attack', 'noise', MODEL, '--out', out, '--scale', '0.1'].concat([
        '--data',
        DATA,
        '--seed',
        '5',
        '--json',
      ]),
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const json = JSON.parse(lines[0]);
    assert.equal(json.attack, 'noise');
    assert.equal(json.scale, 0.1);
    assert.equal(json.seed, 5);
    assert.equal(json.out, out);
    assert.equal(json.tensors, 29);
    assert.equal(json.parameters, 570_624);
    assert.equal(json.utility.length, 2);
    assert.ok(json.topKOverlap > 0.6 && json.topKOverlap < 1, `overlap ${json.topKOverlap}`);
    assert.ok(Array.isArray(json.timings));
    assert.ok(existsSync(out));
  });

  test('bad input exits 2 with one line on stderr', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'x.onnx');
    for (const [bad, pattern] of [
      [['attack', 'prune', MODEL, '--out', out, '--fraction', '1'], /--fraction.*\[0, 1\)/],
      [
        ['attack', 'prune', MODEL, '--out', out, '--fraction', 'half'],
        /--fraction must be a number/,
      ],
      [['attack', 'prune', MODEL, '--out', out], /needs --fraction/],
      [['attack', 'noise', MODEL, '--out', out, '--fraction', '0.1'], /takes --scale/],
      [
        ['attack', 'noise', MODEL, '--out', MODEL, '--scale', '0.1'],
        /never writes over its inputs/,
      ],
    ] as const) {
      const e = await runCli([...bad]);
      assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
      assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
      assert.match(e.stderr, pattern);
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});
