// The main job on the bundled sample: inspect the SASRec fixture, embed a GREW watermark, verify
// the watermarked copy (PRESENT) and the original (ABSENT), and export the audit as HTML; then
// embed an AOW watermark (no data needed: self-distillation) and audit that copy with both keys.
// Outputs go to .cache/demo/ (git-ignored); the fixture itself is never modified.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cli = path.join(root, 'dist', 'cli.js');
const sample = path.join(root, 'test', 'fixtures', 'sasrec_opset17.onnx');
const out = path.join(root, '.cache', 'demo');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

function run(title, args) {
  console.log(
    `\n$ recmark ${args.map((a) => (a.startsWith(root) ? path.relative(root, a) : a)).join(' ')}   # ${title}`,
  );
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const marked = path.join(out, 'sasrec.grew.onnx');
const key = path.join(out, 'sasrec.grew.wmkey.json');
run('what is this checkpoint?', ['inspect', sample]);
run('watermark it', ['embed', 'grew', sample, '--out', marked, '--key-out', key]);
run('audit the watermarked copy', [
  'verify',
  marked,
  '--key',
  key,
  '--report-html',
  path.join(out, 'audit-watermarked.html'),
]);
run('audit the original', ['verify', sample, '--key', key]);
const aowMarked = path.join(out, 'sasrec.aow.onnx');
const aowKey = path.join(out, 'sasrec.aow.wmkey.json');
run('watermark it with AOW', ['embed', 'aow', sample, '--out', aowMarked, '--key-out', aowKey]);
run('audit the AOW copy with both keys', [
  'verify',
  aowMarked,
  '--key',
  key,
  '--key',
  aowKey,
  '--report-html',
  path.join(out, 'audit-aow.html'),
]);
console.log(
  `\nDone. Open ${path.relative(root, path.join(out, 'audit-watermarked.html'))} (GREW) and ${path.relative(root, path.join(out, 'audit-aow.html'))} (AOW, both keys) in a browser for the full reports.`,
);
