/**
 * The robustness sweep's plumbing on a real watermarked fixture, with a small plan so it runs in
 * seconds: one row per attack, verdicts from real verification, an attack that cannot run is a
 * row with its reason, no temporary model is left behind, and cancelling stops the sweep.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { robustnessSweep, type PlannedAttack } from '../../../../src/core/attack/robustness';
import { CancelledError } from '../../../../src/core/errors';
import { embedAow } from '../../../../src/core/watermark/aow';
import type { AowKey } from '../../../../src/core/watermark/key';
import { fixture, runCli, tempDir } from '../../../support/helpers';
import { assertCounted, recordProgress } from '../../../support/progressCounts';
import { movielensInteractionFile } from '../../../support/movielens';
import { serveModeGrew } from '../../../support/serveGrew';

const data = movielensInteractionFile();
const dir = tempDir();
const marked = path.join(dir, 'marked.onnx');
const keyFile = path.join(dir, 'marked.wmkey.json');
let key: AowKey;

const PLAN: PlannedAttack[] = [
  { attack: 'extraction', sequences: 150 },
  { attack: 'finetune', fraction: 0.01 },
  { attack: 'prune', fraction: 0.2 },
  { attack: 'prune', fraction: 0.9 },
  { attack: 'noise', scale: 0.1 },
  { attack: 'quantize' },
  { attack: 'strip' },
  { attack: 'overwrite', scheme: 'grew' },
  { attack: 'extract-finetune', sequences: 150, fraction: 0.01 },
];

const sweepDirs = (): string[] =>
  readdirSync(tmpdir()).filter((d) => d.startsWith('recmark-sweep-'));

before(async () => {
  const r = await embedAow({
    model: fixture('sasrec_opset17.onnx'),
    out: marked,
    keyOut: keyFile,
    data,
    secret: Buffer.alloc(32, 0x3c),
  });
  key = r.key;
});

test('one row per attack, each verified; light attacks keep the watermark, heavy pruning does not', async () => {
  const leftBefore = sweepDirs().length;
  const report = await robustnessSweep({
    model: marked,
    key,
    data,
    plan: PLAN,
    extractionEpochs: 2,
  });
  assert.equal(report.verdict, 'present');
  const rows = report.robustness!.rows;
  assert.deepEqual(
    rows.map((r) => r.attack),
    PLAN.map((a) => a.attack),
  );
  for (const row of rows) {
    assert.equal(row.error, undefined, `${row.label}: ${row.error}`);
    assert.equal(row.metric?.name, 'Recall@10');
    assert.ok(row.fidelity! >= 0 && row.fidelity! <= 1);
    assert.ok(row.ndcg! >= 0);
  }
  const byLabel = (re: RegExp) => rows.find((r) => re.test(r.label))!;
  assert.equal(byLabel(/Prune 20%/).verdict, 'present');
  assert.equal(byLabel(/noise at 0.1/).verdict, 'present');
  assert.equal(byLabel(/1% of users/).verdict, 'present');
  // 90% of every matrix zeroed leaves a different model: lists and watermark both gone.
  const heavy = byLabel(/Prune 90%/);
  assert.notEqual(heavy.verdict, 'present');
  assert.ok(heavy.fidelity! < 0.3, `fidelity ${heavy.fidelity}`);
  assert.ok(byLabel(/Prune 20%/).fidelity! > 0.7);
  // AOW lives in the weights: int8 rounding keeps it, and there is nothing to strip.
  assert.equal(byLabel(/Int8/).verdict, 'present');
  const strip = byLabel(/Strip/);
  assert.equal(strip.setting, 'nothing to remove: the output is the scoring layer');
  assert.equal(strip.fidelity, 1);
  assert.equal(strip.note, undefined);
  // The thief's own GREW is a key id and evidence, never the key; the owner's AOW survives it.
  const overwrite = byLabel(/thief's own GREW/);
  assert.match(
    overwrite.setting,
    /^thief's key [0-9a-f]{16}: z_w -?\d+\.\d\d on \d+ data probes, p = /,
  );
  assert.equal(overwrite.verdict, 'present');
  // The stacked row fine-tunes the extraction row's surrogate instead of extracting again.
  const stacked = byLabel(/then fine-tune on 1%/);
  assert.match(stacked.setting, /^the extraction row’s surrogate; then \d+ users/);
  assert.ok(stacked.ms < byLabel(/Data-free extraction/).ms, 'extraction ran once');
  assert.ok(report.robustness!.ndcg! > 0.02);
  assert.equal(sweepDirs().length, leftBefore, 'temporary models removed');
});

test('without data the fine-tuning rows say why they did not run; the rest still runs', async () => {
  const rec = recordProgress();
  const report = await robustnessSweep({
    model: marked,
    key,
    progress: rec.progress,
    plan: [
      { attack: 'finetune', fraction: 0.05 },
      { attack: 'extract-finetune', sequences: 3000, fraction: 0.05 },
      { attack: 'noise', scale: 0.1 },
    ],
  });
  const [finetune, stacked, noise] = report.robustness!.rows;
  assert.match(finetune.error!, /needs interaction data/);
  // Refused before extracting 3,000 sequences, not after.
  assert.match(stacked.error!, /needs interaction data/);
  assert.ok(stacked.ms < 1000, `${stacked.ms} ms`);
  assert.equal(noise.error, undefined);
  assert.equal(noise.verdict, 'present');
  assert.equal(noise.ndcg, undefined);
  // The figures the views draw: counts, evidence per row (none for a row that did not run).
  assert.deepEqual(report.robustness!.figures, {
    ran: 1,
    survived: 1,
    notRun: 2,
    alphaEvidence: -Math.log10(report.alpha),
    evidence: [null, null, Math.max(0, -noise.log10PValue)],
    ndcgChange: [null, null, null],
  });
  // The comparisons' utility counts on the sweep's progress, under each row's prefix.
  const base = 'The watermarked model';
  const sampling = rec.counts(`${base}: Sampling probe sequences from the model`, 'queries');
  assertCounted(sampling, sampling[0][1], 'probe sampling');
  assertCounted(
    rec.counts(`${base}: Measuring utility for the comparisons (top-10 overlap)`, 'probes'),
    500,
    'the reference',
  );
  assertCounted(
    rec.counts(
      `3/3 ${noise.label}: Measuring utility against the original (top-10 overlap)`,
      'probes',
    ),
    500,
    'the noisy copy',
  );
});

test('a GREW serve-mode model: weight attacks keep the mark, stripping removes it and says so', async () => {
  const grew = await serveModeGrew('sasrec_opset17.onnx', data);
  const report = await robustnessSweep({
    model: grew.model,
    key: grew.key,
    data,
    nullKeys: 50,
    plan: [{ attack: 'noise', scale: 0.1 }, { attack: 'quantize' }, { attack: 'strip' }],
  });
  const [noise, quantize, strip] = report.robustness!.rows;
  for (const row of [noise, quantize, strip]) assert.equal(row.error, undefined, row.error);
  // Noise touches the network only (it used to destroy the head's penalty and green vectors).
  assert.equal(noise.verdict, 'present', `z_w ${noise.metric?.value}`);
  assert.equal(quantize.verdict, 'present', `z_w ${quantize.metric?.value}`);
  assert.equal(strip.verdict, 'absent', `z_w ${strip.metric?.value}`);
  assert.match(strip.setting, /^31 nodes removed \(/);
  assert.match(strip.note!, /GREW serve-mode head: the watermark is gone with it/);
  // The head protects the top 10: the thief loses nothing by stripping it.
  assert.equal(strip.fidelity, 1);
});

test('cancelling during an attack stops the sweep and leaves no temporary model', async () => {
  const leftBefore = sweepDirs().length;
  const controller = new AbortController();
  await assert.rejects(
    robustnessSweep({
      model: marked,
      key,
      data,
      plan: PLAN.slice(2, 5),
      signal: controller.signal,
      progress: ({ message }) => {
        if (message.startsWith('1/3')) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.equal(sweepDirs().length, leftBefore);
});

test('CLI: robustness --json prints the report with its rows; a bad attack name exits 2', async () => {
  const ok = await runCli(['robustness', marked, '--key', keyFile, '--attacks', 'noise', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { robustness: { rows: { attack: string }[] } };
  assert.deepEqual(
    report.robustness.rows.map((r) => r.attack),
    ['noise', 'noise'],
  );
  const bad = await runCli(['robustness', marked, '--key', keyFile, '--attacks', 'melt']);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--attacks takes extraction, finetune, prune, noise, quantize, strip, overwrite, extract-finetune;/,
  );
});
