/** RecMark: Embed GREW Watermark — pick a model, write a watermarked copy, keep the key secret. */
import * as vscode from 'vscode';
import { embedGrew } from '../core/watermark/grew';
import type { KeyStore } from '../keyStore';
import { log } from '../log';
import { existingDataFile, settings } from '../settings';
import { pickModel, pickOutputModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function embedGrewCommand(store: KeyStore, uri?: vscode.Uri): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Embed a GREW watermark into which model?');
  if (!model) return;
  const s = settings();
  const delta = await vscode.window.showInputBox({
    title: 'Watermark strength δ (in standard deviations of the top scores)',
    prompt:
      'Higher δ gives stronger evidence and survives more attacks, at some cost in ranking quality below the protected top items. 1 is a good start.',
    value: String(s.delta),
    validateInput: (v) =>
      Number.isFinite(Number(v)) && Number(v) > 0 && Number(v) <= 10
        ? undefined
        : 'Enter a number between 0 and 10.',
  });
  if (delta === undefined) return;
  const out = await pickOutputModel(model, '.grew.onnx', 'watermarked model');
  if (!out) return;
  const result = await withCancellableProgress(
    'RecMark: embedding GREW watermark',
    (signal, progress) =>
      embedGrew({
        model: model.fsPath,
        out: out.fsPath,
        data: existingDataFile(s),
        gamma: s.gamma,
        delta: Number(delta),
        kc: s.kc,
        protectHead: s.protectHead,
        seed: s.seed,
        signal,
        progress,
      }),
  );
  await store.add(result.key, `${result.card.fileName} → ${vscode.workspace.asRelativePath(out)}`);
  log.info(
    `Embedded GREW key ${result.key.keyId} into ${out.fsPath}; top-10 overlap ${(result.topKOverlap * 100).toFixed(1)}%.`,
  );
  const choice = await vscode.window.showInformationMessage(
    `Watermarked model written to ${vscode.workspace.asRelativePath(out)}: evidence z = ${result.evidence.z.toFixed(1)} (p = ${result.evidence.pValueText}) on ${result.evidence.probes} probes; top-10 overlap with the original ${(result.topKOverlap * 100).toFixed(1)}%. Key ${result.key.keyId} is in VS Code's secret storage.`,
    'Verify Now',
    'Export Key…',
  );
  if (choice === 'Verify Now') await vscode.commands.executeCommand('recmark.verifyWatermark', out);
  if (choice === 'Export Key…') await vscode.commands.executeCommand('recmark.exportKey');
}
