/**
 * Every limit in src/core/limits.ts: the default, the environment override, and the boundary —
 * exactly at the limit is accepted, one above is refused with the limit's own error code and a
 * message naming the variable that raises it.
 */
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readInteractions } from '../../../src/core/data/interactions';
import { RecMarkError } from '../../../src/core/errors';
import { DEFAULT_LIMITS, limits } from '../../../src/core/limits';
import { encodeModel } from '../../../src/core/onnx/model';
import { inspectModel } from '../../../src/core/report/modelCard';
import { verifyGrew } from '../../../src/core/watermark/grewAudit';
import { readKeyFile } from '../../../src/core/watermark/keyFile';
import { goodData, goodModel, grewKey, grewKeyJson, ITEMS } from '../../support/corpusInputs';
import { tempDir } from '../../support/helpers';

async function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env[name];
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

async function refused(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof RecMarkError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

const dir = tempDir('recmark-limits-');
const model = path.join(dir, 'model.onnx');
const bytes = encodeModel(goodModel());
writeFileSync(model, bytes);

test('defaults, and overrides read from the environment in their units', () => {
  assert.deepEqual(limits({}), DEFAULT_LIMITS);
  const l = limits({
    RECMARK_MAX_MODEL_MB: '1.5',
    RECMARK_MAX_ITEMS: '42',
    RECMARK_MAX_KEY_MB: '',
  });
  assert.equal(l.modelBytes, 1.5 * 1024 * 1024);
  assert.equal(l.items, 42);
  assert.equal(l.keyBytes, DEFAULT_LIMITS.keyBytes);
  assert.throws(
    () => limits({ RECMARK_MAX_PROBES: '-3' }),
    /RECMARK_MAX_PROBES must be a positive number/,
  );
});

test('model size: at the limit loads, one byte less refuses', async () => {
  const mb = (n: number) => String(n / (1024 * 1024));
  await withEnv('RECMARK_MAX_MODEL_MB', mb(bytes.length), () => inspectModel(model));
  await withEnv('RECMARK_MAX_MODEL_MB', mb(bytes.length - 1), () =>
    refused(
      inspectModel(model),
      'model-too-large',
      /above the .* model limit; set RECMARK_MAX_MODEL_MB/,
    ),
  );
});

test('catalogue size: at the limit loads, above refuses', async () => {
  const width = ITEMS + 1;
  await withEnv('RECMARK_MAX_ITEMS', String(width), () => inspectModel(model));
  await withEnv('RECMARK_MAX_ITEMS', String(width - 1), () =>
    refused(
      inspectModel(model),
      'catalogue-too-large',
      /201 score columns, above the 200-item limit/,
    ),
  );
});

test('sequence length: at the limit loads, above refuses', async () => {
  await withEnv('RECMARK_MAX_SEQ_LEN', '10', () => inspectModel(model));
  await withEnv('RECMARK_MAX_SEQ_LEN', '9', () =>
    refused(inspectModel(model), 'sequence-too-long', /sequences of 10 items, above the 9 limit/),
  );
});

test('probes: at the limit runs, above refuses before the model is read', async () => {
  const key = grewKey();
  await withEnv('RECMARK_MAX_PROBES', '20', () =>
    verifyGrew({ model, key, probes: 20, nullKeys: 5 }),
  );
  await withEnv('RECMARK_MAX_PROBES', '20', () =>
    refused(
      verifyGrew({ model: path.join(dir, 'not-read.onnx'), key, probes: 21 }),
      'probes-too-many',
      /21 probes is above the 20-probe limit/,
    ),
  );
});

test('data lines: at the limit reads, above refuses', async () => {
  const file = path.join(dir, 'data.txt');
  writeFileSync(file, goodData()); // a header and 50 interactions, newline-terminated
  await withEnv('RECMARK_MAX_DATA_LINES', '51', () => readInteractions(file));
  await withEnv('RECMARK_MAX_DATA_LINES', '50', () =>
    refused(readInteractions(file), 'data-too-large', /more than 50 lines/),
  );
  // A last line without a newline still counts.
  writeFileSync(file, '1 5\n1 6');
  await withEnv('RECMARK_MAX_DATA_LINES', '1', () =>
    refused(readInteractions(file), 'data-too-large', /more than 1 lines/),
  );
});

test('key file size: at the limit reads, above refuses without reading', async () => {
  const file = path.join(dir, 'key.wmkey.json');
  const text = JSON.stringify(grewKeyJson());
  writeFileSync(file, text);
  const mb = (n: number) => String(n / (1024 * 1024));
  await withEnv('RECMARK_MAX_KEY_MB', mb(text.length), () => readKeyFile(file));
  await withEnv('RECMARK_MAX_KEY_MB', mb(text.length - 1), () =>
    refused(readKeyFile(file), 'key-too-large', /set RECMARK_MAX_KEY_MB/),
  );
  const huge = path.join(dir, 'huge.wmkey.json');
  writeFileSync(huge, '');
  truncateSync(huge, DEFAULT_LIMITS.keyBytes + 1);
  await refused(readKeyFile(huge), 'key-too-large', /67,108,865 bytes/);
});
