import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, symlinkSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RecMarkError } from '../../../../src/core/errors';
import { encodeModel, onnx, readModel, writeModel, graphOf } from '../../../../src/core/onnx/model';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { tempDir } from '../../../support/helpers';
import { tinyModel } from '../../../support/tinyModel';

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RecMarkError, `expected RecMarkError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

function writeTemp(name: string, bytes: Uint8Array | string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
}

test('an unchanged model round-trips with identical tensors', async () => {
  const file = writeTemp('tiny.onnx', encodeModel(tinyModel()));
  const model = await readModel(file);
  const out = path.join(path.dirname(file), 'copy.onnx');
  await writeModel(model.proto, out);
  const again = await readModel(out);
  const a = graphOf(model.proto).initializer;
  const b = graphOf(again.proto).initializer;
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].name, b[i].name);
    assert.deepEqual(tensorFloat32(a[i]), tensorFloat32(b[i]));
  }
  assert.deepEqual(readFileSync(out), readFileSync(file));
});

test('zero-byte, truncated and non-ONNX files fail with a clear error', async () => {
  const bytes = encodeModel(tinyModel());
  await rejectsWith(
    readModel(writeTemp('empty.onnx', new Uint8Array())),
    'model-corrupt',
    /empty \(0 bytes\)/,
  );
  await rejectsWith(
    readModel(writeTemp('cut.onnx', bytes.subarray(0, Math.floor(bytes.length / 2)))),
    'model-corrupt',
    /not a valid ONNX model|no usable ONNX graph/,
  );
  await rejectsWith(
    readModel(writeTemp('text.onnx', 'this is a README, not a model\n'.repeat(20))),
    'model-corrupt',
    /ONNX/,
  );
  await rejectsWith(readModel(path.join(tempDir(), 'missing.onnx')), 'model-missing', /not found/);
});

/** Move the embedding initializer's bytes into an external file with the given location. */
function externalise(dir: string, location: string, dataFile = location): string {
  const proto = tinyModel();
  const emb = graphOf(proto).initializer[0];
  writeFileSync(path.join(dir, dataFile), emb.rawData!);
  emb.rawData = new Uint8Array();
  emb.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  emb.externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: '0' },
  ];
  const file = path.join(dir, 'model.onnx');
  writeFileSync(file, encodeModel(proto));
  return file;
}

test('external data next to the model is loaded and inlined on write', async () => {
  const dir = tempDir();
  const file = externalise(dir, 'weights.bin');
  const model = await readModel(file);
  assert.deepEqual(model.externalFiles, ['weights.bin']);
  const expected = tensorFloat32(graphOf(tinyModel()).initializer[0]);
  assert.deepEqual(tensorFloat32(graphOf(model.proto).initializer[0]), expected);
  const out = path.join(tempDir(), 'inlined.onnx');
  await writeModel(model.proto, out);
  assert.deepEqual(tensorFloat32(graphOf((await readModel(out)).proto).initializer[0]), expected);
});

test('external data escaping the model folder is rejected', async () => {
  const root = tempDir();
  const dir = path.join(root, 'models');
  mkdirSync(dir);
  writeFileSync(path.join(root, 'secret.bin'), new Uint8Array(10_000));
  await rejectsWith(
    readModel(externalise(dir, '../secret.bin', 'ignored.bin')),
    'model-external-escape',
    /outside/,
  );
  await rejectsWith(
    readModel(externalise(dir, path.join(root, 'secret.bin'), 'ignored2.bin')),
    'model-external-escape',
    /outside/,
  );
  symlinkSync(path.join(root, 'secret.bin'), path.join(dir, 'link.bin'));
  const file = externalise(dir, 'link.bin', 'unused.bin');
  await rejectsWith(readModel(file), 'model-external-escape', /symlink/);
});

test('missing external data names the file', async () => {
  const dir = tempDir();
  const file = externalise(dir, 'weights.bin', 'other.bin');
  await rejectsWith(readModel(file), 'model-external-missing', /weights\.bin/);
});

test('writeModel leaves no temp file behind', async () => {
  const dir = tempDir();
  await writeModel(tinyModel(), path.join(dir, 'out.onnx'));
  assert.deepEqual(readdirSync(dir), ['out.onnx']);
});
