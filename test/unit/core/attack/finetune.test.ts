/**
 * The fine-tuning attack on the real fixtures (10% of MovieLens users): the training loss drops,
 * the written model loads in onnxruntime and scores, only initializer data changes, and the input
 * is never touched. Also: the whole training graph's gradient against finite differences, the
 * CLI, and cancellation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { finetuneAttack } from '../../../../src/core/attack/finetune';
import { prefixExamples } from '../../../../src/core/train/examples';
import { readItemSequences } from '../../../../src/core/data/interactions';
import { CancelledError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, graphOf, onnx, readModel } from '../../../../src/core/onnx/model';
import { loadOrt } from '../../../../src/core/onnx/ort';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { prepareTraining } from '../../../../src/core/train/prepareTraining';
import {
  fixture,
  MAIN_FIXTURES,
  runCli,
  tempDir,
  withoutInitializerData,
} from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { assertCounted, recordProgress } from '../../../support/progressCounts';
import { SERVE_HEAD_PREFIX, serveModeGrew } from '../../../support/serveGrew';

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

const DATA = movielensInteractionFile();

describe('fine-tuning attack on every fixture', () => {
  for (const name of MAIN_FIXTURES) {
    test(`${name}: 10% of MovieLens, a few steps lower the training loss; the output loads and scores`, async () => {
      const model = fixture(name);
      const before = sha(model);
      const out = path.join(tempDir(), 'tuned.onnx');
      const r = await finetuneAttack({
        model,
        data: DATA,
        out,
        fraction: 0.1,
        maxSteps: 12,
        batchSize: 32,
        lr: 3e-4,
        lossSample: 512,
      });
      assert.equal(r.users.total, 610);
      assert.equal(r.users.finetuned, 61);
      assert.equal(r.steps, 12);
      assert.equal(r.curve.length, 12);
      assert.ok(r.curve.every((c) => Number.isFinite(c.loss)));
      assert.ok(
        r.trainLoss.after < r.trainLoss.before,
        `training loss ${r.trainLoss.before} → ${r.trainLoss.after}`,
      );
      assert.equal(r.utility.length, 2);
      assert.equal(sha(model), before, 'the input model was modified');
      // [B, T, N] exports train on their last-position rewrite, the others as they are.
      const allPositions = ['sasrec_opset13.onnx', 'bert4rec.onnx'].includes(name);
      assert.equal(
        r.trainingGraph.mode,
        allPositions ? 'rewritten' : 'last-position',
        r.trainingGraph.note ?? '',
      );

      const original = await readModel(model);
      const tuned = await readModel(out);
      assert.deepEqual(
        withoutInitializerData(tuned.proto),
        withoutInitializerData(original.proto),
        'something other than initializer data changed',
      );
      const adapter = detectAdapter(tuned);
      const session = await ScoringSession.open(out, adapter);
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
  }
});

test('a GREW serve-mode model fine-tunes through its TopK head; the output keeps the head', async () => {
  // Before the TopK rule: "Cannot train through TopK node score_calibration/top".
  const { model } = await serveModeGrew('sasrec_opset17.onnx', DATA);
  const before = sha(model);
  const out = path.join(tempDir(), 'tuned.onnx');
  const r = await finetuneAttack({
    model,
    data: DATA,
    out,
    fraction: 0.1,
    maxSteps: 8,
    batchSize: 32,
    lr: 3e-4,
    lossSample: 256,
  });
  assert.equal(r.steps, 8);
  assert.ok(r.curve.every((c) => Number.isFinite(c.loss)));
  assert.ok(r.trainLoss.after < r.trainLoss.before, `${r.trainLoss.before} → ${r.trainLoss.after}`);
  assert.equal(sha(model), before, 'the input model was modified');
  const [original, tuned] = [await readModel(model), await readModel(out)];
  assert.deepEqual(
    withoutInitializerData(tuned.proto),
    withoutInitializerData(original.proto),
    'something other than initializer data changed',
  );
  // The network's weights moved; the head's constants (buffers, not parameters) did not.
  const byName = (proto: onnx.ModelProto) =>
    new Map(graphOf(proto).initializer.map((t) => [t.name!, onnx.TensorProto.encode(t).finish()]));
  const [a, b] = [byName(original.proto), byName(tuned.proto)];
  for (const [name, bytes] of a) {
    if (name.startsWith(SERVE_HEAD_PREFIX)) assert.deepEqual(b.get(name), bytes, name);
  }
  assert.notDeepEqual(b.get('item_emb.weight'), a.get('item_emb.weight'));
});

describe('the whole training graph matches finite differences', () => {
  for (const name of MAIN_FIXTURES) {
    test(`${name}: directional derivative along each weight's gradient`, async () => {
      const { model, adapter } = await inspectModel(fixture(name));
      const sequences = await readItemSequences(DATA, adapter);
      const examples = prefixExamples(sequences.slice(0, 2), adapter.seqLen)
        .filter((_, i) => i % 7 === 0)
        .slice(0, 4);
      const p = await prepareTraining({ model: model.proto, adapter, examples, batchSize: 4 });
      const ort = await loadOrt();
      const session = await ort.InferenceSession.create(encodeModel(p.training.proto));
      const feeds = p.feeds(examples);
      const lossAt = async (name: string | null, step: Float32Array | null) => {
        const f = { ...feeds };
        for (const [k, v] of p.params) {
          const data = k === name && step ? v.map((x, i) => x + step[i]) : v;
          f[k] = new ort.Tensor('float32', data, p.dims.get(k)!);
        }
        return f;
      };
      try {
        const base = await session.run(await lossAt(null, null));
        const eps = 1e-2;
        for (const t of p.trainable) {
          const g = base[p.training.gradients.get(t)!].data as Float32Array;
          const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
          if (norm < 1e-6) continue;
          const loss = async (sign: number) =>
            (
              (
                await session.run(
                  await lossAt(
                    t,
                    g.map((x) => (sign * eps * x) / norm),
                  ),
                )
              )[p.training.loss].data as Float32Array
            )[0];
          const fd = ((await loss(1)) - (await loss(-1))) / (2 * eps);
          assert.ok(Math.abs(fd / norm - 1) < 0.02, `${t}: |g| = ${norm}, finite difference ${fd}`);
        }
      } finally {
        await session.release();
      }
    });
  }
});

test('CLI: attack finetune prints one JSON object and writes OUT; usage errors exit 2', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'tuned.onnx');
  const model = fixture('gru4rec.onnx');
  const args = ['attack', 'finetune', model, '--data', DATA, '--out', out];
  const r = await runCli([...args, '--max-steps', '2', '--batch-size', '16', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const json = JSON.parse(lines[0]);
  assert.equal(json.attack, 'finetune');
  assert.equal(json.steps, 2);
  assert.equal(json.curve.length, 2);
  assert.ok(existsSync(out));
  // An existing OUT is refused without --force; bad numbers and missing options are usage errors.
  for (const bad of [
    [...args, '--max-steps', '1'],
    [...args, '--force', '--lr', '2'],
    [...args, '--force', '--fraction', '0'],
    [...args, '--force', '--epochs', 'x'],
    ['attack', 'finetune', model, '--out', path.join(dir, 'x.onnx')],
    ['attack', 'prune', model],
    ['attack', 'finetune', model, '--data', DATA, '--out', model, '--force'],
  ]) {
    const e = await runCli(bad);
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
    assert.equal(e.stderr.trim().split('\n').length, 1);
  }
});

test('cancelling a fine-tune at any step writes nothing', async () => {
  const model = fixture('gru4rec.onnx');
  const before = sha(model);
  const steps: string[] = [];
  const counts: string[] = [];
  const rec = recordProgress();
  const options = {
    model,
    data: DATA,
    maxSteps: 3,
    batchSize: 16,
    lossSample: 64,
    utilityUsers: 100,
  };
  await finetuneAttack({
    ...options,
    out: path.join(tempDir(), 'probe.onnx'),
    progress: (u) => {
      rec.progress(u);
      steps.push(u.message);
      if (u.count?.unit === 'training steps')
        counts.push(`${u.message}: ${u.count.done}/${u.count.total} ${u.count.unit}`);
    },
  });
  const unique = [...new Set(steps)].filter((s) => !s.startsWith('Writing'));
  // Training is one step (one message) with its own count, every training step reported.
  assert.deepEqual(
    counts.map((c) => c.replace(/^Fine-tuning on \d+ users \([\d,]+ examples\)/, 'Fine-tuning')),
    [1, 2, 3].map((n) => `Fine-tuning: ${n}/3 training steps`),
  );
  // Utility before and after counts the sampled users.
  for (const when of ['before', 'after']) {
    const step = `Measuring utility and training loss ${when} fine-tuning`;
    assertCounted(rec.counts(step, 'users measured'), 100, step);
  }
  for (const step of unique) {
    const dir = tempDir();
    const controller = new AbortController();
    const run = finetuneAttack({
      ...options,
      out: path.join(dir, 'out.onnx'),
      signal: controller.signal,
      progress: ({ message }) => {
        if (message === step) controller.abort();
      },
    });
    await assert.rejects(run, CancelledError, `cancel at "${step}"`);
    assert.deepEqual(readdirSync(dir), [], `files left after cancelling at "${step}"`);
  }
  assert.equal(sha(model), before);
});
