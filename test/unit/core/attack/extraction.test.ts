/**
 * Data-free extraction on the SASRec fixture, small enough for CI: the query budget arithmetic,
 * a surrogate that loads, scores and agrees with the victim far above chance, the input untouched,
 * cancellation, the pieces (synthetic queries, GREW head removal, re-initialisation, the
 * all-position variant) and the CLI. The AOW/GREW survival measurement is
 * test/bench/extraction.bench.ts (minutes, not seconds).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { extractModel, type ExtractResult } from '../../../../src/core/attack/extraction';
import { allPositionVariant, reinitialise } from '../../../../src/core/attack/surrogate';
import { syntheticQueries } from '../../../../src/core/attack/syntheticQueries';
import { stripScoreCalibration } from '../../../../src/core/attack/strip';
import { CancelledError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { encodeModel, graphOf, readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { defaultTrainable } from '../../../../src/core/train/weights';
import { sha256File } from '../../../../src/core/util/files';
import { appendGrewBias } from '../../../../src/core/watermark/grewGraph';
import { fixture, mulberry32, runCli, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { assertCounted, recordProgress } from '../../../support/progressCounts';

const MODEL = fixture('sasrec_opset17.onnx');
const DATA = movielensInteractionFile();
/** 80 training sequences of 10 prefixes, 20 held out: 1,000 queries; 75 training steps. */
const SMALL = {
  sequences: 80,
  length: 10,
  heldOut: 20,
  topK: 50,
  epochs: 15,
  batchSize: 32,
  seed: 3,
};

describe('extraction on the SASRec fixture', () => {
  let result: ExtractResult;
  let out: string;

  test('queries, trains and writes a surrogate; the input is byte-identical', async () => {
    const before = await sha256File(MODEL);
    out = path.join(tempDir(), 'surrogate.onnx');
    const rec = recordProgress();
    result = await extractModel({
      model: MODEL,
      out,
      data: DATA,
      ...SMALL,
      progress: rec.progress,
    });
    const messages = rec.updates.map((u) => u.message);
    assert.equal(await sha256File(MODEL), before, 'the victim file changed');
    assert.ok(existsSync(out));
    // Budget: every prefix of every synthetic sequence is one query.
    const q = result.queries;
    assert.equal(q.sequences, 80);
    assert.equal(q.length, 10);
    assert.equal(q.topK, 50);
    assert.equal(q.training, 80 * 10);
    assert.equal(q.heldOut, 20 * 10);
    assert.equal(q.total, 1000);
    assert.ok(q.perSecond > 0 && Number.isFinite(q.perSecond));
    assert.equal(result.fidelity.prefixes, 20 * 10);
    assert.equal(result.arch, 'same');
    assert.equal(result.training.positions, 'all', 'the fixture trains at every position');
    assert.ok(result.training.steps > 0 && result.training.epochs === 15);
    assert.ok(result.training.reinitialised.includes('item_emb.weight'));
    assert.ok(
      result.training.lastLoss < result.training.firstLoss,
      `loss ${result.training.firstLoss} → ${result.training.lastLoss}`,
    );
    assert.ok(messages.some((m) => m.startsWith('Querying the victim')));
    assert.ok(messages.some((m) => m.startsWith('Training the surrogate')));
    // With data: both models' leave-one-out utility on the same 610 users.
    assert.equal(result.utility?.users, 610);
    const querying = rec.messages().find((m) => m.startsWith('Querying the victim'))!;
    assertCounted(rec.counts(querying, 'queries'), 1000, 'victim queries');
    for (const model of ['victim', 'surrogate'])
      assertCounted(
        rec.counts(`Measuring the ${model} on the data (leave-one-out)`, 'users measured'),
        610,
        model,
      );
    assertCounted(
      rec.counts('Measuring the surrogate against the victim (held-out queries)', 'prefixes'),
      20 * 10,
      'fidelity',
    );
    assert.ok(result.utility!.victim.ndcg > 0.02);
  });

  test('the surrogate loads, scores real items, and agrees with the victim far above chance', async () => {
    const { adapter } = await inspectModel(out);
    assert.equal(adapter.scoreWidth, 3651);
    const session = await ScoringSession.open(out, adapter);
    try {
      const [list] = await session.topK([[1, 2, 3]], 10);
      assert.equal(list.length, 10);
    } finally {
      await session.release();
    }
    const f = result.fidelity;
    assert.ok(Math.abs(f.chanceTop10 - 10 / 3650) < 1e-12);
    // 800 training queries cannot copy the model, but far more than a random ranking agrees
    // (measured 18–22% over seeds 1–3, chance 0.27%).
    assert.ok(
      f.top10Overlap > 20 * f.chanceTop10,
      `held-out top-10 overlap ${f.top10Overlap} vs chance ${f.chanceTop10}`,
    );
    assert.ok(f.top20Overlap > 0 && f.top1Agreement >= 0);
  });
});

test('synthetic queries: uniform first items, each next item from the previous list', async () => {
  const model = await readModel(MODEL);
  const adapter = detectAdapter(model);
  const session = await ScoringSession.open(MODEL, adapter);
  try {
    const q = await syntheticQueries(session, { count: 30, length: 6, topK: 20, seed: 5 });
    assert.equal(q.queries, 180);
    assert.equal(q.sequences.length, 30);
    const firsts = new Set(q.sequences.map((s) => s[0]));
    assert.ok(firsts.size >= 28, 'first items should be spread over the catalogue');
    q.sequences.forEach((seq, s) => {
      assert.equal(seq.length, 6);
      assert.equal(q.lists[s].length, 6);
      q.lists[s].forEach((list, i) => {
        assert.equal(list.length, 20);
        // Lists exclude the history, and the next item is drawn from the list.
        for (const id of seq.slice(0, i + 1)) assert.ok(!list.includes(id));
        if (i + 1 < seq.length) assert.ok(list.includes(seq[i + 1]));
      });
    });
    const again = await syntheticQueries(session, { count: 30, length: 6, topK: 20, seed: 5 });
    assert.deepEqual(again.sequences, q.sequences, 'seeded');
  } finally {
    await session.release();
  }
});

test('a GREW head is cut off the same-architecture surrogate; re-initialisation by role', async () => {
  const model = await readModel(MODEL);
  const adapter = detectAdapter(model);
  const rand = mulberry32(9);
  const green = Uint8Array.from({ length: adapter.scoreWidth }, () => (rand() < 0.5 ? 1 : 0));
  const marked = appendGrewBias(model.proto, adapter, { green, delta: 1, kc: 50, protectHead: 10 });
  const stripped = stripScoreCalibration(marked, adapter.output);
  assert.ok(!graphOf(stripped).node.some((n) => (n.name ?? '').startsWith('score_calibration/')));
  assert.ok(
    !graphOf(stripped).initializer.some((t) => (t.name ?? '').startsWith('score_calibration/')),
  );
  // The stripped graph is the original network: the same scores.
  const a = await ScoringSession.open(MODEL, adapter);
  const b = await ScoringSession.open(encodeModel(stripped), adapter);
  try {
    const seqs = [[5, 6, 7], [100]];
    const rows: Float32Array[][] = [[], []];
    await a.forEachScores(seqs, (i, s) => (rows[0][i] = s.slice()));
    await b.forEachScores(seqs, (i, s) => (rows[1][i] = s.slice()));
    assert.deepEqual(rows[1], rows[0]);
  } finally {
    await a.release();
    await b.release();
  }

  const trainable = defaultTrainable(stripped, adapter.output);
  const fresh = reinitialise(stripped, adapter, trainable, { seed: 1 });
  const tensors = new Map(graphOf(fresh).initializer.map((t) => [t.name, tensorFloat32(t)]));
  assert.ok(
    tensors.get('blocks.0.ln1.weight')!.every((v) => v === 1),
    'LayerNorm scale = 1',
  );
  assert.ok(
    tensors.get('blocks.0.ln1.bias')!.every((v) => v === 0),
    'LayerNorm bias = 0',
  );
  assert.ok(
    tensors.get('blocks.0.ff.0.bias')!.every((v) => v === 0),
    'bias = 0',
  );
  const emb = tensors.get('item_emb.weight')!;
  assert.ok(
    emb.subarray(0, 64).every((v) => v === 0),
    'the padding row stays zero',
  );
  const std = Math.sqrt(emb.subarray(64).reduce((s, v) => s + v * v, 0) / (emb.length - 64));
  assert.ok(Math.abs(std - 0.02) < 0.001, `embedding std ${std}`);
});

test('all-position variant: the fixture SASRec yes (last position unchanged), BERT4Rec no', async () => {
  const sasrec = await readModel(MODEL);
  const variant = await allPositionVariant(sasrec.proto, detectAdapter(sasrec));
  assert.ok(variant);
  assert.equal(variant.adapter.outputRank, 3);
  const bert = await readModel(fixture('bert4rec.onnx'));
  assert.equal(await allPositionVariant(bert.proto, detectAdapter(bert)), null);
});

test('cancelling at any step writes nothing and leaves the input alone', async () => {
  const before = await sha256File(MODEL);
  const stops = ['Reading', 'Querying', 'Building', 'Training', 'Measuring the surrogate'];
  for (const stop of stops) {
    const dir = tempDir();
    const controller = new AbortController();
    const run = extractModel({
      model: MODEL,
      out: path.join(dir, 'out.onnx'),
      ...SMALL,
      sequences: 20,
      epochs: 1,
      signal: controller.signal,
      progress: ({ message }) => {
        if (message.startsWith(stop)) controller.abort();
      },
    });
    await assert.rejects(run, CancelledError, `cancel at "${stop}"`);
    assert.deepEqual(readdirSync(dir), [], `files left after cancelling at "${stop}"`);
  }
  assert.equal(await sha256File(MODEL), before);
});

test('CLI: attack extract --json prints one object with the budget; bad arguments exit 2', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'stolen.onnx');
  const args = ['attack', 'extract', MODEL, '--out', out];
  const small = ['--sequences', '20', '--length', '5', '--top-k', '30', '--epochs', '1'];
  const r = await runCli([...args, ...small, '--arch', 'sasrec', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const json = JSON.parse(lines[0]) as ExtractResult & { attack: string };
  assert.equal(json.attack, 'extract');
  assert.equal(json.arch, 'sasrec');
  assert.equal(json.queries.training, 100);
  assert.equal(json.queries.topK, 30);
  assert.equal(typeof json.fidelity.top10Overlap, 'number');
  assert.equal(typeof json.training.seconds, 'number');
  assert.equal(json.utility, null);
  assert.ok(existsSync(out));
  for (const bad of [
    [...args, ...small], // OUT exists, no --force
    [...args, '--force', '--arch', 'gru'],
    [...args, '--force', '--sequences', 'many'],
    [...args, '--force', '--top-k', '1'],
    [...args, '--force', '--loss', 'mse'],
    ['attack', 'extract', MODEL],
    ['attack', 'extract', MODEL, '--out', MODEL, '--force'],
  ]) {
    const e = await runCli(bad);
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
    assert.match(e.stderr.trim().split('\n').pop()!, /^recmark: /, e.stderr);
  }
});
