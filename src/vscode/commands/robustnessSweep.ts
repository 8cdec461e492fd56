/** RecMark: Run Robustness Sweep — attack a watermarked model every way a thief might, verify after each. */
import * as vscode from 'vscode';
import type { DataRef } from '../../core/data/interactions';
import * as notify from '../notify';
import { robustnessSweep } from '../../core/attack/robustness';
import type { WatermarkKey } from '../../core/watermark/key';
import type { KeyStore } from '../keyStore';
import { existingDataFile, settings, utilityUsersOf } from '../settings';
import { importKeyCommand, pickStoredKey } from './keys';
import { pickModel } from './pickModel';
import { withCancellableProgress } from './progress';
import { saveAndShowReport } from './showReport';

export async function robustnessSweepCommand(
  context: vscode.ExtensionContext,
  store: KeyStore,
  uri?: vscode.Uri,
): Promise<void> {
  const model =
    uri instanceof vscode.Uri
      ? uri
      : await pickModel('Run the robustness sweep on which watermarked model?');
  if (!model) return;
  const picked = await pickStoredKey(store, 'Which watermark key does this model carry?');
  if (!picked || picked === 'all') return;
  const key = picked === 'import' ? await importKeyCommand(store) : await store.get(picked.keyId);
  if (!key) return;
  const s = settings();
  const data = existingDataFile(s);
  const go = await notify.showInformationMessage(
    `The sweep extracts a surrogate from ${model.path.split('/').pop()}, ${data ? 'fine-tunes it on 1/5/10% of your users, ' : ''}prunes it, adds noise, quantizes it to int8, strips its post-processing, overwrites it with a thief's own GREW and AOW watermark${data ? ' and fine-tunes the extracted surrogate' : ''}, then verifies key ${key.keyId} after each attack. It takes several minutes and can be cancelled; no model files are kept.${data ? '' : ' Fine-tuning needs recmark.dataFile and is skipped without it.'}`,
    'Run Sweep',
  );
  if (go !== 'Run Sweep') return;
  await runSweep(context, model, key, data);
}

async function runSweep(
  context: vscode.ExtensionContext,
  model: vscode.Uri,
  key: WatermarkKey,
  data: DataRef | undefined,
): Promise<void> {
  const s = settings();
  const report = await withCancellableProgress(
    `RecMark: robustness sweep of ${model.path.split('/').pop()}`,
    (signal, progress) =>
      robustnessSweep({
        model: model.fsPath,
        key,
        data,
        utilityUsers: utilityUsersOf(s),
        probes: s.probes,
        topK: s.topK,
        nullKeys: s.nullKeys,
        seed: s.seed,
        alpha: s.alpha,
        signal,
        progress,
      }),
  );
  const rows = report.robustness?.rows ?? [];
  const survived = rows.filter((r) => r.verdict === 'present' && !r.error).length;
  await saveAndShowReport(
    context,
    model,
    report,
    `Robustness sweep of ${report.model.fileName} with key ${report.keyId}: survived ${survived} of ${rows.length} attacks`,
    () => runSweep(context, model, key, data),
  );
}
