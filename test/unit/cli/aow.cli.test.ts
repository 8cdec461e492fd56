/**
 * AOW through the CLI as a CI pipeline would use it: embed, verify by a key file (the full one
 * and the minimal `{"scheme":"aow","sequence":[...]}` another implementation would write),
 * several keys in one run, bad input with exit 2, and cancellation with nothing left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { CancelledError } from '../../../src/core/errors';
import { embedAow } from '../../../src/core/watermark/aow';
import { fixture, runCli, tempDir } from '../../support/helpers';
import { movielensInteractionFile } from '../../support/movielens';

const model = fixture('sasrec_opset17.onnx');
const dir = tempDir();
const out = path.join(dir, 'marked.onnx');
const keyFile = path.join(dir, 'marked.wmkey.json');
let embedJson: Record<string, unknown>;

before(async () => {
  const r = await runCli([
    'embed',
    'aow',
    model,
    '--out',
    out,
    '--key-out',
    keyFile,
    '--data',
    movielensInteractionFile(),
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  embedJson = JSON.parse(r.stdout) as Record<string, unknown>;
});

test('embed aow --json: one object with the evidence, and the sequence only in the key file', () => {
  assert.equal(embedJson.scheme, 'aow');
  assert.deepEqual((embedJson.evidence as { ranks: number[] }).ranks, [1, 1, 1, 1]);
  const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { sequence: number[]; secret: string };
  assert.equal(key.sequence.length, 5);
  assert.match(key.secret, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(embedJson).includes(key.secret));
  assert.ok(!JSON.stringify(embedJson).includes(key.sequence.join(',')));
});

test('verify --json reports the AOW contract fields', async () => {
  const r = await runCli(['verify', out, '--key', keyFile, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    scheme: string;
    verdict: string;
    pValue: number;
    aow: Record<string, unknown>;
  };
  assert.equal(report.scheme, 'aow');
  assert.equal(report.verdict, 'present');
  assert.ok(report.pValue < 1e-9);
  for (const field of ['ranks', 'recall', 'ndcg', 'pBinomial', 'pFisher', 'numItems'])
    assert.ok(field in report.aow, `aow.${field}`);
  assert.deepEqual(report.aow.ranks, [1, 1, 1, 1]);
  assert.equal(report.aow.numItems, 3650);
  assert.equal((report.aow.recall as Record<string, number>)['1'], 1);
});

test('a minimal key file (scheme + sequence) from another implementation verifies', async () => {
  const { sequence } = JSON.parse(readFileSync(keyFile, 'utf8')) as { sequence: number[] };
  const minimal = path.join(dir, 'external.json');
  writeFileSync(minimal, JSON.stringify({ scheme: 'aow', sequence }));
  const marked = await runCli(['verify', out, '--key', minimal, '--json']);
  assert.equal(marked.code, 0, marked.stderr);
  assert.equal((JSON.parse(marked.stdout) as { verdict: string }).verdict, 'present');
  const clean = await runCli(['verify', model, '--key', minimal]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^ABSENT/);
});

test('several keys: one report for the strongest, every key listed, a foreign key explained', async () => {
  const foreign = path.join(dir, 'foreign.json');
  writeFileSync(foreign, JSON.stringify({ scheme: 'aow', sequence: [5, 99999] }));
  const unrelated = path.join(dir, 'unrelated.json');
  writeFileSync(unrelated, JSON.stringify({ scheme: 'aow', sequence: [10, 20, 30, 40, 50] }));
  const r = await runCli(['verify', out, '--key', unrelated, '--key', foreign, '--key', keyFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^PRESENT/);
  const keyLines = r.stdout.split('\n').filter((l) => l.startsWith('key '));
  assert.equal(keyLines.length, 3);
  assert.match(keyLines[0], /present/);
  assert.match(keyLines[1], /absent/);
  assert.match(keyLines[2], /not checked: .*not items of this model/);
});

/** `embed aow MODEL --out … --key-out …` followed by the options under test. */
const embedArgs = (...extra: string[]): string[] => [
  'embed',
  'aow',
  model,
  '--out',
  path.join(dir, 'x.onnx'),
  '--key-out',
  path.join(dir, 'x.json'),
  ...extra,
];

test('bad input exits 2 naming the problem and the fix', async () => {
  const cases: [string[], RegExp][] = [
    [embedArgs('--start', 'cold'), /needs --data/],
    [embedArgs('--length', '30'), /length must be an integer from 2 to 20/],
    [embedArgs('--max-ndcg-drop', '1.5'), /max-ndcg-drop must be between 0 and 1, got 1.5/],
    [embedArgs('--utility', 'train'), /--utility train .* needs --data/],
    [embedArgs('--start', 'warm'), /--start must be cold, pop or random/],
    [['embed', 'aow', model, '--out', path.join(dir, 'x.onnx')], /needs --key-out/],
  ];
  const foreign = path.join(dir, 'foreign-only.json');
  writeFileSync(foreign, JSON.stringify({ scheme: 'aow', sequence: [5, 99999] }));
  cases.push([['verify', model, '--key', foreign], /not items of this model/]);
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    // Progress lines ("… step") may precede it; the error itself is one line, no stack.
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('… '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0], /^recmark: /);
    assert.equal(r.stdout, '');
  }
  assert.ok(!readdirSync(dir).some((f) => f.startsWith('x.')), 'no output was written');
});

test('cancel during each step of an AOW embed: nothing written', async () => {
  const steps = [
    'Generating',
    'Measuring utility before',
    'Fine-tuning',
    'Measuring utility after',
  ];
  for (const step of steps) {
    const target = tempDir();
    const controller = new AbortController();
    const run = embedAow({
      model,
      out: path.join(target, 'm.onnx'),
      keyOut: path.join(target, 'm.json'),
      data: movielensInteractionFile(),
      secret: Buffer.alloc(32, 1),
      minSteps: 10, // reach "Measuring utility after" sooner; the minimum is not under test
      signal: controller.signal,
      progress: ({ message }) => {
        if (message.startsWith(step)) controller.abort();
      },
    });
    await assert.rejects(run, CancelledError, `cancel at "${step}"`);
    assert.deepEqual(readdirSync(target), [], `files left after cancelling at "${step}"`);
  }
});
