/**
 * Stripping post-processing (strip.ts): nothing to strip on the five fixtures (the graph is
 * written back unchanged); a GREW serve-mode SASRec loses exactly its head — the clean network
 * comes back, the top-10 lists are the same and the watermark is gone, which the result says;
 * post-processing RecMark did not write is found by structure; stacked serve heads go together;
 * post-processing that reads the network's insides is refused; and the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  findPostProcessing,
  stripAttack,
  stripPostProcessing,
} from '../../../../src/core/attack/strip';
import { RecMarkError } from '../../../../src/core/errors';
import { detectAdapter, type Adapter } from '../../../../src/core/onnx/adapter';
import { floatTensor } from '../../../../src/core/onnx/graph';
import { encodeModel, graphOf, onnx, readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { appendGrewBias } from '../../../../src/core/watermark/grewGraph';
import { verifyWithKey } from '../../../../src/core/watermark/verify';
import { fixture, MAIN_FIXTURES, mulberry32, runCli, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { SERVE_HEAD_PREFIX, serveModeGrew } from '../../../support/serveGrew';
import { tinyModel } from '../../../support/tinyModel';

const DATA = movielensInteractionFile();
const graphBytes = (proto: onnx.ModelProto) => onnx.GraphProto.encode(graphOf(proto)).finish();
const adapterOf = (proto: onnx.ModelProto): Adapter =>
  detectAdapter({ proto, file: 'model.onnx', fileBytes: 0, externalFiles: [] });

describe('nothing to strip on the fixtures', () => {
  for (const name of MAIN_FIXTURES) {
    test(name, async () => {
      const { model, adapter } = await inspectModel(fixture(name));
      const r = await stripPostProcessing(model.proto, adapter);
      assert.equal(r.detail.removed.nodes, 0);
      assert.equal(r.detail.cutAt, null);
      assert.equal(r.detail.grewServeHead, false);
      assert.match(r.detail.note, /no post-processing to remove/);
      assert.deepEqual(graphBytes(r.proto), graphBytes(model.proto));
    });
  }
});

test('a GREW serve-mode SASRec: the head goes, the clean network comes back, the mark with it', async () => {
  const { model, key } = await serveModeGrew('sasrec_opset17.onnx', DATA);
  const out = path.join(tempDir(), 'stripped.onnx');
  const r = await stripAttack({ model, out, data: DATA });
  assert.equal(r.grewServeHead, true);
  assert.equal(r.cutAt, `${SERVE_HEAD_PREFIX}raw_scores`);
  assert.equal(r.removed.initializers, 14);
  assert.equal(r.removed.opTypes.TopK, 1);
  assert.equal(r.removed.opTypes.LogSoftmax, 1);
  assert.match(r.note, /GREW serve-mode head: the watermark is gone/);
  // Exactly the fixture's graph again: same nodes, names, initializers, inputs and outputs.
  const stripped = await readModel(out);
  const clean = await readModel(fixture('sasrec_opset17.onnx'));
  assert.deepEqual(graphBytes(stripped.proto), graphBytes(clean.proto));
  // The model card (inspect, the model view) says which file carries a served head.
  const served = (await inspectModel(model)).card.servedHead;
  assert.equal(served?.nodes, r.removed.nodes);
  assert.match(served!.note, /anyone holding the file can remove it/);
  assert.equal((await inspectModel(out)).card.servedHead, null);
  // The head protects the top 10, so the thief keeps every top-10 list, and utility.
  assert.equal(r.topKOverlap, 1);
  assert.deepEqual(
    r.utility.map((u) => u.after),
    r.utility.map((u) => u.before),
  );
  const before = await verifyWithKey({ model, key, data: DATA, nullKeys: 50 });
  const after = await verifyWithKey({ model: out, key, data: DATA, nullKeys: 50 });
  assert.equal(before.verdict, 'present');
  assert.notEqual(after.verdict, 'present', `z_w ${after.grew?.z} after stripping`);
});

/** sasrec_opset17 with post-processing of its own appended after "scores". */
async function withPostProcessing(): Promise<{ proto: onnx.ModelProto; adapter: Adapter }> {
  const { model, adapter } = await inspectModel(fixture('sasrec_opset17.onnx'));
  const proto = onnx.ModelProto.decode(encodeModel(model.proto));
  const graph = graphOf(proto);
  const W = adapter.scoreWidth;
  const rand = mulberry32(4);
  for (const node of graph.node)
    node.output = (node.output ?? []).map((o) => (o === 'scores' ? 'logits_raw' : o));
  graph.initializer.push(
    floatTensor('temperature', [], [0.5]),
    floatTensor(
      'popularity',
      [W],
      Array.from({ length: W }, () => rand() * 0.1),
    ),
  );
  graph.node.push(
    onnx.NodeProto.create({
      opType: 'Mul',
      input: ['logits_raw', 'temperature'],
      output: ['t'],
      name: 'temp',
    }),
    onnx.NodeProto.create({
      opType: 'Add',
      input: ['t', 'popularity'],
      output: ['b'],
      name: 'pop',
    }),
    onnx.NodeProto.create({
      opType: 'LogSoftmax',
      input: ['b'],
      output: ['scores'],
      name: 'norm',
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }],
    }),
  );
  return { proto, adapter: adapterOf(proto) };
}

test('post-processing RecMark did not write is found by structure and removed', async () => {
  const { proto, adapter } = await withPostProcessing();
  const found = await findPostProcessing(proto, adapter);
  assert.equal(found.cut, 'logits_raw');
  assert.deepEqual(
    found.nodes.map((n) => n.name),
    ['temp', 'pop', 'norm'],
  );
  const r = await stripPostProcessing(proto, adapter);
  assert.deepEqual(r.detail.removed, {
    nodes: 3,
    opTypes: { Add: 1, LogSoftmax: 1, Mul: 1 },
    initializers: 2,
  });
  assert.equal(r.detail.grewServeHead, false);
  assert.match(r.detail.note, /Removed 3 nodes .*the network itself is unchanged/);
  const clean = await readModel(fixture('sasrec_opset17.onnx'));
  assert.deepEqual(graphBytes(r.proto), graphBytes(clean.proto));
});

test('two stacked serve heads (a GREW mark over a GREW mark) load, and strip together', async () => {
  const proto = tinyModel({ items: 40, seqLen: 6, seed: 3 });
  const adapter = adapterOf(proto);
  const rand = mulberry32(2);
  const green = () => new Uint8Array(41).map((_, id) => (id > 0 && rand() < 0.5 ? 1 : 0));
  const params = { delta: 1, kc: 10, protectHead: 3 };
  const once = appendGrewBias(proto, adapter, { ...params, green: green() });
  const twice = appendGrewBias(once, adapter, { ...params, green: green() });
  const names = graphOf(twice).node.map((n) => n.name ?? '');
  assert.ok(
    names.some((n) => n.startsWith('score_calibration_2/')),
    'the second head has its own names',
  );
  // Loadable: no name is defined twice.
  const session = await ScoringSession.open(encodeModel(twice), adapter);
  await session.topK([[1, 2, 3]], 5);
  await session.release();
  const r = await stripPostProcessing(twice, adapter);
  assert.equal(r.detail.grewServeHead, true);
  assert.deepEqual(graphBytes(r.proto), graphBytes(proto));
});

test('post-processing that reads inner values of the network is refused by name', async () => {
  const proto = tinyModel({ items: 20, seqLen: 5, seed: 1 });
  const graph = graphOf(proto);
  graph.node.forEach((n) => (n.output = (n.output ?? []).map((o) => (o === 'scores' ? 'raw' : o))));
  graph.node.push(
    onnx.NodeProto.create({
      opType: 'ReduceSum',
      input: ['pooled'],
      output: ['norm'],
      name: 'norm',
      attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    }),
    onnx.NodeProto.create({
      opType: 'Div',
      input: ['raw', 'norm'],
      output: ['scores'],
      name: 'div',
    }),
  );
  await assert.rejects(
    findPostProcessing(proto, adapterOf(proto)),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'model-unsupported' &&
      /after the scoring layer \("raw"\) also read "pooled"/.test(err.message),
  );
});

test('CLI: attack strip --json prints one object and writes OUT; bad input exits 2', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'stripped.onnx');
  const model = fixture('gru4rec.onnx');
  const r = await runCli(['attack', 'strip', model, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const json = JSON.parse(lines[0]);
  assert.equal(json.attack, 'strip');
  assert.equal(json.removed.nodes, 0);
  assert.equal(json.grewServeHead, false);
  assert.equal(json.topKOverlap, 1);
  assert.ok(existsSync(out));
  for (const [bad, pattern] of [
    [['attack', 'strip', model, '--out', out], /already exists; pass --force/],
    [['attack', 'strip', model, '--out', model, '--force'], /never writes over its inputs/],
  ] as const) {
    const e = await runCli([...bad]);
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, pattern);
  }
  assert.deepEqual(readdirSync(dir), ['stripped.onnx']);
});
