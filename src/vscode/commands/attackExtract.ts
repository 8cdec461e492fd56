/** RecMark: Simulate Extraction Attack — train a surrogate on a model's ranked lists alone. */
import * as vscode from 'vscode';
import * as notify from '../notify';
import { extractModel } from '../../core/attack/extraction';
import { log } from '../log';
import { existingDataFile, settings, utilityUsersOf } from '../settings';
import { pickModel, pickOutputModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function attackExtractCommand(uri?: vscode.Uri): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Simulate extraction of which model?');
  if (!model) return;
  const s = settings();
  const sequences = await vscode.window.showInputBox({
    title: 'Synthetic sequences the thief queries (each grown from the model’s top-100)',
    value: '3000',
    validateInput: (v) =>
      Number.isInteger(Number(v)) && Number(v) >= 10 && Number(v) <= 1_000_000
        ? undefined
        : 'Enter a whole number from 10 to 1,000,000.',
  });
  if (sequences === undefined) return;
  const out = await pickOutputModel(model, '.surrogate.onnx', 'surrogate model');
  if (!out) return;
  const r = await withCancellableProgress(
    'RecMark: simulating a data-free extraction attack',
    (signal, progress) =>
      extractModel({
        model: model.fsPath,
        out: out.fsPath,
        sequences: Number(sequences),
        data: existingDataFile(s),
        utilityUsers: utilityUsersOf(s),
        seed: s.seed,
        signal,
        progress,
      }),
  );
  const agreement = `top-10 overlap with the victim ${(r.fidelity.top10Overlap * 100).toFixed(1)}% (chance ${(r.fidelity.chanceTop10 * 100).toFixed(2)}%)`;
  const utility = r.utility
    ? `; NDCG@10 victim ${r.utility.victim.ndcg.toFixed(4)}, surrogate ${r.utility.surrogate.ndcg.toFixed(4)}`
    : '';
  log.info(
    `Extracted ${model.fsPath} → ${out.fsPath}: ${r.queries.total} queries, ${r.training.steps} steps; ${agreement}${utility}.`,
  );
  const choice = await notify.showInformationMessage(
    `Surrogate written to ${vscode.workspace.asRelativePath(out)} after ${r.queries.total.toLocaleString('en-US')} queries: ${agreement}${utility}.`,
    'Verify Now',
  );
  if (choice === 'Verify Now') await vscode.commands.executeCommand('recmark.verifyWatermark', out);
}
