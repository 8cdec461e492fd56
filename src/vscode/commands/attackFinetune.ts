/** RecMark: Simulate Fine-Tuning Attack — fine-tune a copy of a model on a fraction of the data. */
import * as vscode from 'vscode';
import * as notify from '../notify';
import { finetuneAttack } from '../../core/attack/finetune';
import { utilityLines } from '../../core/report/text';
import { log } from '../log';
import { existingDataFile, settings, utilityUsersOf } from '../settings';
import { pickModel, pickOutputModel } from './pickModel';
import { withCancellableProgress } from './progress';

export async function attackFinetuneCommand(uri?: vscode.Uri): Promise<void> {
  const model =
    uri instanceof vscode.Uri ? uri : await pickModel('Simulate fine-tuning on which model?');
  if (!model) return;
  const s = settings();
  let data = existingDataFile(s);
  if (!data) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Interaction data to fine-tune on (user item [timestamp] lines, model index space)',
      canSelectMany: false,
    });
    if (!picked?.[0]) return;
    data = picked[0].fsPath;
  }
  const fraction = await vscode.window.showInputBox({
    title: 'Fraction of users the attacker fine-tunes on',
    value: '0.1',
    validateInput: (v) =>
      Number(v) > 0 && Number(v) <= 1 ? undefined : 'Enter a number in (0, 1].',
  });
  if (fraction === undefined) return;
  const out = await pickOutputModel(model, '.finetuned.onnx', 'fine-tuned model');
  if (!out) return;
  const r = await withCancellableProgress(
    'RecMark: simulating a fine-tuning attack',
    (signal, progress) =>
      finetuneAttack({
        model: model.fsPath,
        data: data!,
        utilityUsers: utilityUsersOf(s),
        out: out.fsPath,
        fraction: Number(fraction),
        seed: s.seed,
        signal,
        progress,
      }),
  );
  const utility = r.utility.map(
    (u) => `${u.metric} ${u.before.toFixed(4)} → ${u.after.toFixed(4)}`,
  );
  log.info(
    `Fine-tuned ${model.fsPath} → ${out.fsPath}: ${r.steps} steps on ${r.users.finetuned} users; ` +
      `loss by step ${r.curve.map((c) => c.loss.toFixed(3)).join(' ')}; ${utility.join('; ')}.`,
  );
  for (const line of utilityLines(r.utility)) log.info(line);
  const choice = await notify.showInformationMessage(
    `Fine-tuned copy written to ${vscode.workspace.asRelativePath(out)}: training loss ${r.trainLoss.before.toFixed(3)} → ${r.trainLoss.after.toFixed(3)}; ${utility.join(', ')}.`,
    'Verify Now',
  );
  if (choice === 'Verify Now') await vscode.commands.executeCommand('recmark.verifyWatermark', out);
}
