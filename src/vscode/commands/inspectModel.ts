/** RecMark: Inspect Model — open a checkpoint in the inline model view. */
import * as vscode from 'vscode';
import { ModelEditorProvider } from '../modelEditor';
import { pickModel } from './pickModel';

export async function inspectModelCommand(uri?: vscode.Uri): Promise<void> {
  const target = uri instanceof vscode.Uri ? uri : await pickModel('Pick a model to inspect');
  if (!target) return;
  await vscode.commands.executeCommand('vscode.openWith', target, ModelEditorProvider.viewType);
}
