/**
 * Adapter detection on real PyTorch exports: every fixture and variant carries an
 * `.expected.json` written by make_fixtures.py from what it exported.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { FIXTURES, MAIN_FIXTURES } from '../../../support/helpers';

const FIELDS = [
  'input',
  'output',
  'outputRank',
  'numItems',
  'seqLen',
  'padding',
  'padId',
  'maskId',
  'opset',
  'lengthInput',
  'itemEmbedding',
] as const;

function modelsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => path.join(dir, f));
}

const models = [...modelsIn(FIXTURES), ...modelsIn(path.join(FIXTURES, 'variants'))];

test('every main fixture is present', () => {
  for (const name of MAIN_FIXTURES) assert.ok(existsSync(path.join(FIXTURES, name)), name);
  assert.ok(models.length >= 10, `only ${models.length} models`);
});

for (const file of models) {
  test(`adapter detection: ${path.relative(FIXTURES, file)}`, async () => {
    const expectedFile = file.replace(/\.onnx$/, '.expected.json');
    assert.ok(existsSync(expectedFile), `missing ${expectedFile}`);
    const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as Record<string, unknown>;
    const { card } = await inspectModel(file);
    for (const field of FIELDS) {
      if (field in expected) assert.deepEqual(card[field], expected[field], `${field}`);
    }
    assert.match(card.sha256, /^[0-9a-f]{64}$/);
    assert.ok(card.parameters > 0);
  });
}

test('a static batch-1 export shows its fixed batch, a dynamic one "batch"', async () => {
  const fixed = (
    await inspectModel(path.join(FIXTURES, 'variants', 'sasrec_static_batch1_opset17.onnx'))
  ).card;
  assert.equal(fixed.inputShape, '[1, 50]');
  assert.equal(fixed.outputShape, '[1, T, N]');
  const dynamic = (await inspectModel(path.join(FIXTURES, 'sasrec_opset17.onnx'))).card;
  assert.equal(dynamic.inputShape, '[batch, 50]');
  assert.equal(dynamic.outputShape, '[batch, N]');
});
