/** Verify Watermark — check a suspect checkpoint against a stored key and show the report. */
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { saveReport } from '../core/report/store';
import { verifyGrew } from '../core/watermark/grew';
import type { WatermarkKey } from '../core/watermark/key';
import type { KeyStore } from '../keyStore';
import { log } from '../log';
import { ReportPanel } from '../reportPanel';
import { reportsRoot, settings } from '../settings';
import { importKeyCommand, pickStoredKey } from './keys';
import { pickModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function verifyWatermarkCommand(
  context: vscode.ExtensionContext,
  store: KeyStore,
  uri?: vscode.Uri,
): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Verify a watermark in which model?');
  if (!model) return;
  const picked = await pickStoredKey(store, 'Verify with which key?');
  if (!picked) return;
  const key = picked === 'import' ? await importKeyCommand(store) : await store.get(picked.keyId);
  if (!key) return;
  await runVerification(context, model, key);
}

async function runVerification(
  context: vscode.ExtensionContext,
  model: vscode.Uri,
  key: WatermarkKey,
): Promise<void> {
  if (key.scheme !== 'grew') {
    throw new Error(
      `Key ${key.keyId} is an ${key.scheme.toUpperCase()} key; this version of RecMark verifies GREW keys.`,
    );
  }
  const s = settings();
  const report = await withCancellableProgress(
    `RecMark: verifying ${model.path.split('/').pop()}`,
    (signal, progress) =>
      verifyGrew({
        model: model.fsPath,
        key,
        data: s.dataFile && existsSync(s.dataFile) ? s.dataFile : undefined,
        probes: s.probes,
        topK: s.topK,
        nullKeys: s.nullKeys,
        seed: s.seed,
        alpha: s.alpha,
        signal,
        progress,
      }),
  );
  const root = reportsRoot(model);
  if (root) {
    const file = await saveReport(root, report);
    log.info(
      `Verified ${report.model.fileName} with key ${report.keyId}: ${report.verdict} (p = ${report.pValueText}); saved ${file}.`,
    );
  }
  ReportPanel.show(context.extensionUri, report, root, () => runVerification(context, model, key));
}
