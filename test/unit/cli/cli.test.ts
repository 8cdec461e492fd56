import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { encodeModel } from '../../../src/core/onnx/model';
import { runCli, tempDir } from '../../support/helpers';
import { tinyModel } from '../../support/tinyModel';

function tinyFile(): string {
  const file = path.join(tempDir(), 'tiny.onnx');
  writeFileSync(file, encodeModel(tinyModel({ items: 30, seqLen: 12 })));
  return file;
}

test('inspect --json prints one JSON object with the contract fields', async () => {
  const { code, stdout, stderr } = await runCli(['inspect', tinyFile(), '--json']);
  assert.equal(code, 0, stderr);
  const card = JSON.parse(stdout);
  for (const key of [
    'input',
    'output',
    'outputRank',
    'numItems',
    'seqLen',
    'padding',
    'padId',
    'maskId',
    'itemEmbedding',
    'opset',
    'parameters',
    'sha256',
  ]) {
    assert.ok(key in card, `missing ${key}`);
  }
  assert.equal(card.numItems, 30);
  assert.equal(card.seqLen, 12);
  assert.equal(card.maskId, null);
  assert.equal(card.parameters, 2 * 31 * 8);
  assert.match(card.sha256, /^[0-9a-f]{64}$/);
  assert.equal(stdout.trim().split('\n').length, 1);
});

test('inspect without --json prints a readable card', async () => {
  const { code, stdout } = await runCli(['inspect', tinyFile()]);
  assert.equal(code, 0);
  assert.match(stdout, /Items\s+30 real items/);
  assert.match(stdout, /SHA-256\s+[0-9a-f]{64}/);
});

test('bad input exits 2 with one line on stderr and nothing on stdout', async () => {
  const dir = tempDir();
  const broken = path.join(dir, 'broken.onnx');
  writeFileSync(broken, Buffer.from('garbage'.repeat(50)));
  for (const args of [
    ['inspect', broken, '--json'],
    ['inspect', path.join(dir, 'nope.onnx')],
    ['inspect'],
    ['inspect', broken, '--bogus'],
    ['frobnicate'],
  ]) {
    const { code, stdout, stderr } = await runCli(args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^recmark: /);
    assert.doesNotMatch(stderr, /\n\s+at /);
  }
});

test('--help exits 0 and lists inspect', async () => {
  const { code, stdout } = await runCli(['--help']);
  assert.equal(code, 0);
  assert.match(stdout, /inspect MODEL/);
});

test('COMMAND --help shows that command’s usage; an unknown command with --help is an error', async () => {
  const verify = await runCli(['verify', '--help']);
  assert.equal(verify.code, 0);
  assert.match(verify.stdout, /verify MODEL --key KEY/);
  assert.match(verify.stdout, /verify --endpoint PROFILE/);
  assert.doesNotMatch(verify.stdout, /attack prune/);
  const embedAow = await runCli(['embed', 'aow', '-h']);
  assert.equal(embedAow.code, 0);
  assert.match(embedAow.stdout, /embed aow MODEL/);
  assert.doesNotMatch(embedAow.stdout, /embed grew/);
  const unknown = await runCli(['bogus', '--help']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "bogus"/);
});
