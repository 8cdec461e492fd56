/**
 * Issue 18: in VS Code, recmark.dataFile may be a raw MovieLens ratings.csv when recmark.idMapFile
 * names the map; Verify Watermark then audits with it, and without the map it is refused with an
 * error naming the setting.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RecMarkError } from '../../../src/core/errors';
import { fixture, ROOT, runCli, tempDir } from '../../support/helpers';
import { ITEM_MAP, movielensRatingsCsv } from '../../support/movielens';
import { answers, extensionContext, install, recorded, state, Uri } from '../../support/vscodeStub';

install();

test('Verify Watermark reads a raw ratings.csv through recmark.idMapFile', async () => {
  const ws = tempDir();
  movielensRatingsCsv(ws, 120);
  copyFileSync(ITEM_MAP, path.join(ws, 'item_map.csv'));
  const marked = path.join(ws, 'marked.onnx');
  const keyFile = path.join(ws, 'k.wmkey.json');
  const embed = await runCli([
    ...['embed', 'grew', fixture('sasrec_opset17.onnx'), '--mode', 'serve'],
    ...['--out', marked, '--key-out', keyFile, '--json'],
  ]);
  assert.equal(embed.code, 0, embed.stderr);

  state.folders = [ws];
  state.config = { probes: 300, dataFile: 'ratings.csv', idMapFile: 'item_map.csv' };
  const context = extensionContext(ROOT);
  const { KeyStore } = await import('../../../src/vscode/keyStore');
  const { importKeyCommand } = await import('../../../src/vscode/commands/keys');
  const { verifyWatermarkCommand } = await import('../../../src/vscode/commands/verifyWatermark');
  const store = new KeyStore(context as never);
  await importKeyCommand(store, Uri.file(keyFile) as never);
  const pickKey = (items: readonly { label: string }[]): unknown => items[0];

  answers.quickPick.push(pickKey);
  await verifyWatermarkCommand(context as never, store, Uri.file(marked) as never);
  const reports = path.join(ws, '.recmark', 'reports');
  const saved = readdirSync(reports).filter((f) => f.endsWith('.json'));
  assert.equal(saved.length, 1);
  const report = JSON.parse(readFileSync(path.join(reports, saved[0]), 'utf8')) as {
    verdict: string;
    grew: { probeSource: string };
  };
  assert.equal(report.verdict, 'present');
  assert.equal(report.grew.probeSource, 'data');
  assert.ok(
    recorded.progress.some((m) =>
      /^Data ratings\.csv: MovieLens-style CSV .*120 users; 2 interactions/.test(m),
    ),
    `the data read is named in the progress; got: ${recorded.progress.join(' | ')}`,
  );

  state.config = { probes: 300, dataFile: 'ratings.csv' };
  answers.quickPick.push(pickKey);
  await assert.rejects(
    verifyWatermarkCommand(context as never, store, Uri.file(marked) as never),
    (err: unknown) =>
      err instanceof RecMarkError &&
      /is not an item of this model/.test(err.message) &&
      /recmark\.idMapFile/.test(err.message),
  );
});
