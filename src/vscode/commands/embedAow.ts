/** RecMark: Embed AOW Watermark — fine-tune a copy of a model to memorise a secret sequence. */
import * as vscode from 'vscode';
import { pClause } from '../../core/report/plain';
import * as notify from '../notify';
import { embedAow } from '../../core/watermark/aow';
import type { KeyStore } from '../keyStore';
import { utilityLines } from '../../core/report/text';
import { log } from '../log';
import { existingDataFile, settings, utilityUsersOf } from '../settings';
import { pickModel, pickOutputModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function embedAowCommand(store: KeyStore, uri?: vscode.Uri): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Embed an AOW watermark into which model?');
  if (!model) return;
  const s = settings();
  const data = existingDataFile(s);
  if (!data) {
    const go = await notify.showInformationMessage(
      'No interaction data is set (recmark.dataFile): RecMark will keep utility by distilling the original model on sequences sampled from it, and start the watermark at a random item. With data, it trains on your users and starts at the coldest item.',
      'Continue',
      'Open Settings',
    );
    if (go === 'Open Settings')
      await vscode.commands.executeCommand('workbench.action.openSettings', 'recmark.dataFile');
    if (go !== 'Continue') return;
  }
  const out = await pickOutputModel(model, '.aow.onnx', 'watermarked model');
  if (!out) return;
  const r = await withCancellableProgress('RecMark: embedding AOW watermark', (signal, progress) =>
    embedAow({
      model: model.fsPath,
      out: out.fsPath,
      data,
      utilityUsers: utilityUsersOf(s),
      length: s.aowLength,
      bottomM: s.aowBottomM,
      ratio: s.aowRatio,
      contextual: s.aowContextual,
      utility: s.aowUtility === 'auto' ? undefined : s.aowUtility,
      lr: s.aowLr,
      maxSteps: s.aowMaxSteps,
      maxNdcgDrop: s.aowMaxNdcgDrop,
      seed: s.seed,
      signal,
      progress,
    }),
  );
  await store.add(r.key, `${r.card.fileName} → ${vscode.workspace.asRelativePath(out)}`);
  const overlap = r.utility.find((u) => u.metric.startsWith('Top-10 overlap'));
  const ndcg = r.utility.find((u) => u.metric === 'NDCG@10');
  const utility = ndcg
    ? `NDCG@10 ${ndcg.before.toFixed(4)} → ${ndcg.after.toFixed(4)}`
    : `top-10 overlap with the original ${((overlap?.after ?? 0) * 100).toFixed(1)}%`;
  log.info(
    `Embedded AOW key ${r.key.keyId} into ${out.fsPath} in ${r.training.steps} steps; ${utility}.`,
  );
  for (const line of utilityLines(r.utility)) log.info(line);
  const choice = await notify.showInformationMessage(
    `Watermarked model written to ${vscode.workspace.asRelativePath(out)}: all ${r.key.L - 1} watermark steps rank first (${pClause(r.evidence.pValueText)}) after ${r.training.steps} fine-tuning steps; ${utility}. Key ${r.key.keyId} is in VS Code's secret storage.`,
    'Verify Now',
    'Export Key…',
  );
  if (choice === 'Verify Now') await vscode.commands.executeCommand('recmark.verifyWatermark', out);
  if (choice === 'Export Key…') await vscode.commands.executeCommand('recmark.exportKey');
}
