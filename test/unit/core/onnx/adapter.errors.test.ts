import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RecMarkError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, onnx, readModel, graphOf } from '../../../../src/core/onnx/model';
import { readSidecar, validateSidecar, type Sidecar } from '../../../../src/core/onnx/sidecar';
import { tempDir } from '../../../support/helpers';
import { tinyModel, valueInfo } from '../../../support/tinyModel';

const { DataType } = onnx.TensorProto;

async function load(proto: onnx.ModelProto, sidecar?: unknown) {
  const file = path.join(tempDir(), 'model.onnx');
  writeFileSync(file, encodeModel(proto));
  if (sidecar !== undefined) writeFileSync(`${file}.recmark.json`, JSON.stringify(sidecar));
  const model = await readModel(file);
  return { model, sidecar: await readSidecar(file) };
}

async function detect(proto: onnx.ModelProto, sidecar?: Sidecar) {
  const loaded = await load(proto, sidecar);
  return detectAdapter(loaded.model, loaded.sidecar);
}

function throwsCode(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RecMarkError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

async function rejectsCode(
  promise: Promise<unknown>,
  code: string,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RecMarkError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

test('a plain tiny recommender is detected', async () => {
  const a = await detect(tinyModel({ items: 30, seqLen: 12 }));
  assert.equal(a.input, 'item_seq');
  assert.equal(a.output, 'scores');
  assert.equal(a.outputRank, 2);
  assert.equal(a.numItems, 30);
  assert.equal(a.scoreWidth, 31);
  assert.equal(a.seqLen, 12);
  assert.equal(a.padding, 'left');
  assert.equal(a.maskId, null);
  assert.equal(a.itemEmbedding, 'item_emb');
  assert.deepEqual([...a.itemIds.slice(0, 3)], [1, 2, 3]);
});

test('a model with no integer input names its inputs and the sidecar key', async () => {
  const proto = tinyModel();
  graphOf(proto).input[0] = valueInfo('item_seq', DataType.FLOAT, ['batch', 10]);
  await rejectsCode(detect(proto), 'adapter-no-input', /"item_seq" float\[batch, 10\].*"input"/);
});

test('two candidate score outputs are ambiguous, and the sidecar resolves it', async () => {
  const proto = tinyModel({ items: 30 });
  graphOf(proto).node.push(
    onnx.NodeProto.create({ opType: 'Identity', input: ['scores'], output: ['scores_copy'] }),
  );
  graphOf(proto).output.push(valueInfo('scores_copy', DataType.FLOAT, ['batch', 31]));
  await rejectsCode(detect(proto), 'adapter-ambiguous', /"scores", "scores_copy".*Set "output"/);
  const a = await detect(proto, { output: 'scores_copy' });
  assert.equal(a.output, 'scores_copy');
  assert.equal(a.sources.output, 'sidecar');
});

test('two candidate sequence inputs are ambiguous', async () => {
  const proto = tinyModel();
  graphOf(proto).input.push(valueInfo('other_seq', DataType.INT64, ['batch', 10]));
  await rejectsCode(detect(proto), 'adapter-ambiguous', /"item_seq", "other_seq".*"input"/);
});

test('a sidecar naming a missing input lists the real inputs', async () => {
  await rejectsCode(
    detect(tinyModel(), { input: 'input_ids' }),
    'sidecar-invalid',
    /no such input.*"item_seq"/,
  );
});

test('sidecar values are validated', async () => {
  throwsCode(() => validateSidecar({ padding: 'middle' }), 'sidecar-invalid', /"padding" must be/);
  throwsCode(() => validateSidecar({ numItems: -3 }), 'sidecar-invalid', /numItems/);
  throwsCode(() => validateSidecar({ colour: 'red' }), 'sidecar-invalid', /unknown key "colour"/);
  throwsCode(() => validateSidecar([1, 2]), 'sidecar-invalid', /JSON object/);
  const file = path.join(tempDir(), 'm.onnx');
  writeFileSync(`${file}.recmark.json`, '{ not json');
  await rejectsCode(readSidecar(file), 'sidecar-invalid', /not valid JSON/);
});

test('sidecar overrides padding, mask, length and catalogue size', async () => {
  const a = await detect(tinyModel({ items: 30 }), {
    padding: 'right',
    maskId: 30,
    numItems: 20,
    seqLen: 7,
  });
  assert.equal(a.padding, 'right');
  assert.equal(a.maskId, 30);
  assert.equal(a.numItems, 20);
  assert.equal(a.seqLen, 7);
  assert.ok(![...a.itemIds].includes(30) && ![...a.itemIds].includes(0));
  await rejectsCode(
    detect(tinyModel({ items: 30 }), { numItems: 31 }),
    'sidecar-invalid',
    /numItems = 31/,
  );
});

test('an input the adapter cannot feed is named', async () => {
  const proto = tinyModel();
  graphOf(proto).input.push(valueInfo('user_features', DataType.FLOAT, ['batch', 4]));
  await rejectsCode(detect(proto), 'adapter-unsupported-input', /"user_features"/);
});
