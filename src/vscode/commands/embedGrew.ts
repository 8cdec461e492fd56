/** RecMark: Embed GREW Watermark — pick a model, write a watermarked copy, keep the key secret. */
import * as vscode from 'vscode';
import { pClause } from '../../core/report/plain';
import * as notify from '../notify';
import { embedGrew, GREW_DEFAULTS, type GrewMode } from '../../core/watermark/grew';
import { GREW_WEIGHTS_DEFAULTS } from '../../core/watermark/grewWeights';
import type { KeyStore } from '../keyStore';
import { utilityLines } from '../../core/report/text';
import { log } from '../log';
import { existingDataFile, settings, utilityUsersOf } from '../settings';
import { pickModel, pickOutputModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function embedGrewCommand(store: KeyStore, uri?: vscode.Uri): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Embed a GREW watermark into which model?');
  if (!model) return;
  const s = settings();
  const modes: (vscode.QuickPickItem & { mode: GrewMode })[] = [
    {
      mode: 'weights',
      label: 'In the weights',
      description: 'recommended',
      detail:
        'Trains the bias into the model’s own weights; the file keeps its graph, so a thief has nothing to cut out. Takes a minute or more.',
    },
    {
      mode: 'serve',
      label: 'Served head',
      detail:
        'Appends the bias as nodes after the score output: instant, but anyone holding the file can remove it. Only for a model you serve behind an API.',
    },
  ];
  modes.sort((a, b) => Number(b.mode === s.grewMode) - Number(a.mode === s.grewMode));
  const picked = await vscode.window.showQuickPick(modes, {
    title: 'Where should the GREW watermark live?',
  });
  if (!picked) return;
  const mode = picked.mode;
  const defaultDelta =
    s.delta ?? (mode === 'weights' ? GREW_WEIGHTS_DEFAULTS.delta : GREW_DEFAULTS.delta);
  const delta = await vscode.window.showInputBox({
    title: 'Watermark strength δ (in standard deviations of the top scores)',
    prompt:
      mode === 'weights'
        ? 'The strength of the teacher the weights learn from: higher δ gives stronger evidence sooner, at some cost in ranking quality below the protected top items. 2 is a good start.'
        : 'Higher δ gives stronger evidence, at some cost in ranking quality below the protected top items. 1 is a good start.',
    value: String(defaultDelta),
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
        utilityUsers: utilityUsersOf(s),
        mode,
        gamma: s.gamma,
        delta: Number(delta),
        maxSteps: s.grewMaxSteps,
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
  // The CLI's utility lines: each metric with its interval, and the users it was measured on.
  for (const line of utilityLines(result.utility)) log.info(line);
  const where =
    mode === 'weights'
      ? `trained into the weights in ${result.training?.steps ?? 0} steps`
      : 'as a served head (removable by anyone holding the file)';
  const choice = await notify.showInformationMessage(
    `Watermarked model written to ${vscode.workspace.asRelativePath(out)}, ${where}: evidence z = ${result.evidence.z.toFixed(1)} (${pClause(result.evidence.pValueText)}) on ${result.evidence.probes} probes; top-10 overlap with the original ${(result.topKOverlap * 100).toFixed(1)}%. Key ${result.key.keyId} is in VS Code's secret storage.`,
    'Verify Now',
    'Export Key…',
  );
  if (choice === 'Verify Now') await vscode.commands.executeCommand('recmark.verifyWatermark', out);
  if (choice === 'Export Key…') await vscode.commands.executeCommand('recmark.exportKey');
}
