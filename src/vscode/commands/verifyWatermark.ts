/** Verify Watermark — check a suspect checkpoint against a stored key and show the report. */
import * as vscode from 'vscode';
import { pClause } from '../../core/report/plain';
import type { WatermarkKey } from '../../core/watermark/key';
import { verifyWithKeys } from '../../core/watermark/verify';
import type { KeyStore } from '../keyStore';
import { auditSettings, settings } from '../settings';
import { importKeyCommand, pickStoredKey } from './keys';
import { pickModel } from './pickModel';
import { withCancellableProgress } from './progress';
import { saveAndShowReport } from './showReport';

export async function verifyWatermarkCommand(
  context: vscode.ExtensionContext,
  store: KeyStore,
  uri?: vscode.Uri,
): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Verify a watermark in which model?');
  if (!model) return;
  const keys = await chooseKeys(store);
  if (keys.length === 0) return;
  await runVerification(context, model, keys);
}

/** One key, every stored key, or a freshly imported key file. */
async function chooseKeys(store: KeyStore): Promise<WatermarkKey[]> {
  const picked = await pickStoredKey(store, 'Verify with which key?', true, true);
  if (!picked) return [];
  if (picked === 'import') {
    const key = await importKeyCommand(store);
    return key ? [key] : [];
  }
  const infos = picked === 'all' ? store.list() : [picked];
  const keys: WatermarkKey[] = [];
  for (const info of infos) {
    const key = await store.get(info.keyId);
    if (key) keys.push(key);
  }
  if (keys.length === 0) throw new Error('The chosen key is no longer in secret storage.');
  return keys;
}

async function runVerification(
  context: vscode.ExtensionContext,
  model: vscode.Uri,
  keys: WatermarkKey[],
): Promise<void> {
  const s = settings();
  const report = await withCancellableProgress(
    `RecMark: verifying ${model.path.split('/').pop()}`,
    (signal, progress) =>
      verifyWithKeys({
        model: model.fsPath,
        keys,
        ...auditSettings(s),
        signal,
        progress,
      }),
  );
  const c = report.correction;
  const checked =
    keys.length > 1
      ? ` (${keys.length} keys checked${c ? `; verdict corrected for ${c.keys} keys tried` : ''})`
      : '';
  await saveAndShowReport(
    context,
    model,
    report,
    `Verified ${report.model.fileName} with key ${report.keyId}${checked}: ${report.verdict} (${pClause(report.pValueText)})`,
    () => runVerification(context, model, keys),
  );
}
